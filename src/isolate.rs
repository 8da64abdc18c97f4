//! `dsim fuzz --isolate`: seeds run in child processes of this same binary (the hidden
//! subcommand `isolated-worker`, so they have the same registry of protocols). A child is
//! sent a chunk of seeds at once and runs them one at a time, sending each record back as
//! a line of JSON as it finishes. A child that dies (a stack overflow, an abort, a panic
//! while panicking, an allocation that failed, the kernel's out-of-memory killer) or that
//! does not answer within the seed timeout (a handler that loops forever) costs only the
//! seed it was running: the answers come in order, so that seed is the first unanswered
//! one, known without running anything again. It is reported with failure `crash` or
//! `hang` (verdict safety) and its replay command, and a fresh child takes the rest of
//! the chunk.
//!
//! The watchdog reads the wall clock. That never touches a run: it decides only whether a
//! run finished, and a finished run's record is the one it is without isolation, so the
//! reports are byte for byte those of a campaign run in one process.

use crate::Failure;
use crate::campaign::{Loaded, interrupted, load, replay_command, run_seed, unfinished_record};
use crate::cli::{ScenarioArgs, WorkerArgs};
use crate::output::{Progress, timed};
use runner::{Registry, RunSettings};
use sim_core::record::{RunRecord, Verdict};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a seed may run, by default, before its child is killed (`--seed-timeout`).
pub(crate) const DEFAULT_SEED_TIMEOUT_SECONDS: u64 = 300;

/// What a child writes on standard error before each seed, so that a crash's message
/// holds only what that seed printed.
const SEED_MARK: &str = "\u{1}dsim-seed";

/// The failures of a seed whose child died or was killed.
pub(crate) const CRASH: &str = "crash";
pub(crate) const HANG: &str = "hang";

/// Whether `record` is that of a seed whose process died or hung: running it again in
/// this process (for `--report`'s trace) would crash or hang the campaign.
pub(crate) fn died(record: &RunRecord) -> bool {
    record.verdict() == Verdict::Safety && (record.failure == CRASH || record.failure == HANG)
}

/// The children of an isolated campaign, one per job, started when first needed and
/// again after one dies.
pub(crate) struct Workers {
    command: Vec<String>,
    timeout: Duration,
    children: Vec<Option<Child>>,
}

/// One child process, as its parent sees it.
struct Child {
    process: std::process::Child,
    stdin: Option<ChildStdin>,
    /// The lines of its standard output, read by a thread of their own.
    lines: Receiver<String>,
    /// The last lines it wrote on standard error since its current seed began.
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

/// How many lines of a dead child's standard error its seed's message keeps.
const STDERR_LINES: usize = 4;

impl Workers {
    pub(crate) fn new(
        loaded: &[Loaded],
        args: &ScenarioArgs,
        jobs: usize,
        timeout_seconds: u64,
    ) -> Workers {
        let mut command = vec!["isolated-worker".to_owned()];
        for l in loaded {
            command.extend(["--scenario".to_owned(), l.path.display().to_string()]);
            command.extend(["--name".to_owned(), l.scenario.name.clone()]);
        }
        for bug in &args.bugs {
            command.extend(["--bug".to_owned(), bug.clone()]);
        }
        for set in &args.sets {
            command.extend(["--set".to_owned(), set.clone()]);
        }
        Workers {
            command,
            timeout: Duration::from_secs(timeout_seconds),
            children: (0..jobs).map(|_| None).collect(),
        }
    }

    /// Run `batch` (scenario index and seed) over the children; a seed is `None` only if
    /// an interrupt came before it started. Each child is sent a chunk of consecutive
    /// seeds at once and answers them one by one, so it never waits on a round trip.
    pub(crate) fn run_batch(
        &mut self,
        batch: &[(usize, u64)],
        loaded: &[Loaded],
        args: &ScenarioArgs,
        progress: &Progress,
    ) -> Vec<Option<(RunRecord, f64)>> {
        let next = AtomicUsize::new(0);
        let chunk = chunk_size(batch.len(), self.children.len());
        let (command, timeout) = (&self.command, self.timeout);
        let mut done: Vec<(usize, (RunRecord, f64))> = std::thread::scope(|scope| {
            let threads: Vec<_> = self
                .children
                .iter_mut()
                .map(|child| {
                    let next = &next;
                    scope.spawn(move || {
                        let mut done = Vec::new();
                        while !interrupted() {
                            let start = next.fetch_add(chunk, Ordering::SeqCst);
                            if start >= batch.len() {
                                break;
                            }
                            let jobs = &batch[start..(start + chunk).min(batch.len())];
                            // After a seed that killed its child, the rest of the chunk
                            // goes to a new one.
                            let mut from = 0;
                            while from < jobs.len() && !interrupted() {
                                let at = start + from;
                                from += run_in_child(
                                    child,
                                    command,
                                    timeout,
                                    &jobs[from..],
                                    |k, result| {
                                        let (file, seed) = batch[at + k];
                                        let record = result.unwrap_or_else(|(failure, message)| {
                                            let plan = loaded[file].scenario.plan(seed, &args.bugs);
                                            let replay =
                                                replay_command(&loaded[file].path, seed, args);
                                            let outcome = (Verdict::Safety, failure, message);
                                            (unfinished_record(plan, replay, outcome), 0.0)
                                        });
                                        progress.tick(record.0.verdict().is_failure());
                                        done.push((at + k, record));
                                    },
                                );
                            }
                        }
                        done
                    })
                })
                .collect();
            threads.into_iter().flat_map(|t| t.join().expect("a supervisor thread")).collect()
        });
        done.sort_by_key(|(i, _)| *i);
        let mut results: Vec<Option<(RunRecord, f64)>> = batch.iter().map(|_| None).collect();
        for (i, result) in done {
            results[i] = Some(result);
        }
        results
    }
}

/// Seeds sent to a child at once: enough that it never waits for the next, few enough
/// that the children of a batch finish together (about four chunks per child).
fn chunk_size(batch: usize, children: usize) -> usize {
    (batch / (4 * children.max(1))).clamp(1, 16)
}

/// What became of a seed run in a child: its record and seconds, or the failure and
/// message of a seed whose child died or hung.
type ChildResult = Result<(RunRecord, f64), (&'static str, String)>;

/// Send `jobs` to `slot`'s child (started if there is none) and tell `each` the result of
/// each, by its place in `jobs`, as the answers come. Returns how many seeds got a result:
/// all of them, or up to the one whose child died or hung (the slot is then empty), or
/// those answered before an interrupt (the child is then killed).
fn run_in_child(
    slot: &mut Option<Child>,
    command: &[String],
    timeout: Duration,
    jobs: &[(usize, u64)],
    mut each: impl FnMut(usize, ChildResult),
) -> usize {
    let child = match slot {
        Some(child) => child,
        None => match Child::start(command) {
            Ok(child) => slot.insert(child),
            Err(e) => {
                each(0, Err((CRASH, format!("cannot start a child process: {e}"))));
                return 1;
            }
        },
    };
    let requests: String = jobs.iter().map(|(file, seed)| format!("{file} {seed}\n")).collect();
    let stdin = child.stdin.as_mut().expect("open until the child is dropped");
    let sent = stdin.write_all(requests.as_bytes()).and_then(|()| stdin.flush());
    for k in 0..jobs.len() {
        if k > 0 && interrupted() {
            // The seeds it would run next are abandoned with it.
            let _ = child.process.kill();
            *slot = None;
            return k;
        }
        let answer = match &sent {
            Ok(()) => child.lines.recv_timeout(timeout),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        let failure = match answer {
            Ok(line) => match parse_answer(&line) {
                Ok(result) => {
                    each(k, Ok(result));
                    continue;
                }
                Err(e) => {
                    let _ = child.process.kill();
                    let message = format!(
                        "the process running this seed answered what is not a record ({e})"
                    );
                    (CRASH, message)
                }
            },
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.process.kill();
                let message = format!(
                    "no result after {} s of wall clock (--seed-timeout): a handler that never \
                     returns? its process was killed",
                    timeout.as_secs()
                );
                (HANG, message)
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.process.wait();
                let said = child.last_words();
                let how = match status {
                    Ok(status) => describe(status),
                    Err(e) => format!("was lost ({e})"),
                };
                let said = if said.is_empty() { String::new() } else { format!(": {said}") };
                (CRASH, format!("the process running this seed {how}{said}"))
            }
        };
        each(k, Err(failure));
        *slot = None;
        return k + 1;
    }
    jobs.len()
}

/// A child's answer, `SECONDS RECORD-JSON`.
fn parse_answer(line: &str) -> Result<(RunRecord, f64), String> {
    let (seconds, record) = line.split_once(' ').ok_or("no record")?;
    let seconds: f64 = seconds.parse().map_err(|e| format!("seconds: {e}"))?;
    Ok((reports::json::parse_record_line(record)?, seconds))
}

/// How a child ended, in words: its signal (named when common) or its exit code.
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                4 => " (SIGILL)",
                6 => " (SIGABRT: an abort, a stack overflow or a failed allocation)",
                7 => " (SIGBUS)",
                8 => " (SIGFPE)",
                9 => " (SIGKILL: the out-of-memory killer?)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("died of signal {signal}{name}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with code {code}"),
        None => "ended".to_owned(),
    }
}

impl Child {
    fn start(command: &[String]) -> std::io::Result<Child> {
        let exe = std::env::current_exe()?;
        let mut process = Command::new(exe)
            .args(command)
            // A crash's message keeps what the runtime said, not a backtrace.
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = process.stdin.take().expect("piped");
        let stdout = process.stdout.take().expect("piped");
        let stderr = process.stderr.take().expect("piped");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let kept = Arc::clone(&tail);
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut kept = kept.lock().expect("no panics while held");
                if line == SEED_MARK {
                    kept.clear();
                } else if !line.trim().is_empty() {
                    if kept.len() == STDERR_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                }
            }
        });
        Ok(Child {
            process,
            stdin: Some(stdin),
            lines,
            stderr: tail,
            stderr_reader: Some(stderr_reader),
        })
    }

    /// What the dead child wrote on standard error during its last seed, on one line.
    fn last_words(&mut self) -> String {
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let said: Vec<String> = self
            .stderr
            .lock()
            .expect("reader joined")
            .iter()
            .map(|l| without_thread_ids(l.trim()))
            .collect();
        let said = said.join(" | ");
        match said.char_indices().nth(600) {
            Some((cut, _)) => format!("{}...", &said[..cut]),
            None => said,
        }
    }
}

/// `line` without the thread ids the runtime prints (`thread 'main' (22194) has
/// overflowed its stack`), which differ from run to run, so a crash's record is the same
/// every time.
fn without_thread_ids(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("' (") {
        out.push_str(&rest[..=at]);
        let after = &rest[at + 3..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && after[digits..].starts_with(')') {
            rest = &after[digits + 1..];
        } else {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

impl Drop for Child {
    /// Close its standard input, so that it ends, and reap it.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.process.wait();
    }
}

/// `dsim isolated-worker`: run the seeds the parent sends on standard input (`FILE SEED`
/// a line, several at once), one at a time, answering each with `SECONDS RECORD-JSON` on
/// standard output as it finishes.
pub(crate) fn worker(args: WorkerArgs, registry: &Registry) -> Result<u8, Failure> {
    // An interrupt reaches the whole process group; the parent decides what stops.
    let _ = ctrlc::set_handler(|| {});
    crate::campaign::echo_panics();
    let mut loaded = Vec::new();
    for (i, file) in args.files.iter().enumerate() {
        let mut l = load(file, registry, &args.scenario)?;
        if let Some(name) = args.names.get(i) {
            l.scenario.name.clone_from(name);
        }
        loaded.push(l);
    }
    let settings = RunSettings::default();
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Failure::input(format!("standard input: {e}")))?;
        let job = line.split_once(' ').and_then(|(file, seed)| {
            Some((file.parse::<usize>().ok().filter(|&f| f < loaded.len())?, seed.parse().ok()?))
        });
        let Some((file, seed)) = job else {
            return Err(Failure::input(format!(
                "isolated-worker: expected `FILE SEED`, got {line:?}"
            )));
        };
        eprintln!("{SEED_MARK}");
        let (output, seconds) =
            timed(|| run_seed(&loaded[file], registry, seed, &args.scenario, &settings));
        let answer = format!("{seconds} {}\n", reports::json::record_line(&output.record));
        if out.write_all(answer.as_bytes()).and_then(|()| out.flush()).is_err() {
            return Ok(0); // the parent went away
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn thread_ids_are_dropped_from_what_a_child_said() {
        let said = "thread 'main' (22194) has overflowed its stack | x' (y) | 'a' (12";
        assert_eq!(
            super::without_thread_ids(said),
            "thread 'main' has overflowed its stack | x' (y) | 'a' (12"
        );
    }
}
