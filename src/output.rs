//! Writing files and showing progress. A report is written to a temporary file beside its
//! destination and renamed into place, so a failed or interrupted run never leaves a
//! partial file.

// Progress reads the wall clock (speed and ETA only; nothing here reaches a report).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use crate::Failure;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Write `text` to `path` atomically.
pub fn write_output(path: &Path, text: &str) -> Result<(), Failure> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Failure::input(format!("{}: not a file name", path.display())))?;
    let temporary = dir.join(format!(".{}.dsim-partial", name.to_string_lossy()));
    let fail = |e: std::io::Error| Failure::input(format!("cannot write {}: {e}", path.display()));
    std::fs::write(&temporary, text).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        fail(e)
    })
}

/// Campaign progress on stderr: a bar (seeds/s, failures, ETA) on a terminal, a plain
/// line every tenth of the campaign otherwise. Progress is the only place dsim reads the
/// wall clock, and it never reaches a report.
pub struct Progress {
    bar: Option<ProgressBar>,
    threads: usize,
    started: Instant,
    total: u64,
    done: AtomicU64,
    failed: AtomicU64,
    plain: Mutex<u64>,
}

impl Progress {
    pub fn new(total: u64, threads: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} seeds  {per_sec}  {msg}  ETA {eta}",
                )
                .expect("valid template"),
            );
            bar
        });
        Progress {
            bar,
            threads,
            started: Instant::now(),
            total,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            plain: Mutex::new(0),
        }
    }

    pub fn tick(&self, failed: bool) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let failures =
            self.failed.fetch_add(u64::from(failed), Ordering::Relaxed) + u64::from(failed);
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{failures} failed"));
                bar.inc(1);
            }
            None => {
                let step = (self.total / 10).max(1);
                let mut printed = self.plain.lock().expect("progress lock");
                if done >= *printed + step || done == self.total {
                    *printed = done;
                    eprintln!("progress: {done}/{} seeds, {failures} failed", self.total);
                }
            }
        }
    }

    /// Clear the bar and print the campaign's speed (on stderr: it varies run to run).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let seconds = self.started.elapsed().as_secs_f64();
        let done = self.done.load(Ordering::Relaxed);
        let seeds = if done == 1 { "seed" } else { "seeds" };
        eprintln!(
            "ran {done} {seeds} in {seconds:.2}s on {} thread(s): {:.1} seeds/s",
            self.threads,
            done as f64 / seconds.max(1e-9)
        );
    }
}
