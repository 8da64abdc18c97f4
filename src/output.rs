//! Writing files and showing progress. A report to a regular file is written to a
//! temporary file beside it (created exclusively, under an unpredictable name) and renamed
//! into place, so a failed or interrupted run never leaves a partial file; a device, a
//! FIFO or `/dev/stdout` is written to directly, and a symlink is followed to its target.

// Progress reads the wall clock (speed and ETA only; nothing here reaches a report).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use crate::Failure;
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// An output file being written: created before the first seed runs (so a bad path is
/// an error at once), committed when complete.
pub struct OutputFile {
    /// The path as the user gave it, for messages.
    path: PathBuf,
    /// Where the bytes end up: the path with symlinks followed.
    target: PathBuf,
    sink: Sink,
}

enum Sink {
    /// A regular file, written beside its target and renamed over it on commit.
    Atomic(BufWriter<tempfile::NamedTempFile>),
    /// A device, a FIFO, a terminal: written in place.
    Direct(BufWriter<File>),
}

impl OutputFile {
    /// Open `path` for writing, or say why it cannot be written.
    pub fn create(path: &Path) -> Result<OutputFile, Failure> {
        let fail = |e: io::Error| Failure::input(format!("cannot write {}: {e}", path.display()));
        let (target, special) = match fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(Failure::input(format!(
                    "cannot write {}: is a directory; expected a file path",
                    path.display()
                )));
            }
            // A device, a FIFO, a terminal, `/dev/stdout`: opened where it is.
            Ok(m) if !m.is_file() => (path.to_owned(), true),
            Ok(_) => (fs::canonicalize(path).map_err(fail)?, false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                (follow_symlinks(path).map_err(fail)?, false)
            }
            Err(e) => return Err(fail(e)),
        };
        let sink = if special {
            Sink::Direct(BufWriter::new(
                OpenOptions::new().write(true).open(&target).map_err(fail)?,
            ))
        } else {
            let dir =
                target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = target
                .file_name()
                .ok_or_else(|| Failure::input(format!("{}: not a file name", path.display())))?;
            let temporary = tempfile::Builder::new()
                .prefix(&format!(".{}.", name.to_string_lossy()))
                .suffix(".dsim-partial")
                .tempfile_in(dir)
                .map_err(fail)?;
            Sink::Atomic(BufWriter::new(temporary))
        };
        Ok(OutputFile { path: path.to_owned(), target, sink })
    }

    /// Whether two outputs here would overwrite each other: both end in the same regular
    /// file (writing twice to a device or a FIFO is what was asked for).
    fn clashes_with(&self, other: &OutputFile) -> bool {
        let atomic = |o: &OutputFile| matches!(o.sink, Sink::Atomic(_));
        atomic(self) && atomic(other) && canonical(&self.target) == canonical(&other.target)
    }

    /// Finish the file: flush it and, for a regular file, move it into place.
    pub fn commit(self) -> Result<(), Failure> {
        let path = self.path;
        let fail = |e: io::Error| Failure::input(format!("cannot write {}: {e}", path.display()));
        match self.sink {
            Sink::Direct(mut file) => file.flush().map_err(fail),
            Sink::Atomic(file) => {
                let temporary = file.into_inner().map_err(|e| fail(e.into_error()))?;
                temporary.as_file().sync_all().map_err(fail)?;
                set_report_permissions(&temporary, &self.target).map_err(fail)?;
                temporary.persist(&self.target).map(drop).map_err(|e| fail(e.error))
            }
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Atomic(file) => file.write(bytes),
            Sink::Direct(file) => file.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Atomic(file) => file.flush(),
            Sink::Direct(file) => file.flush(),
        }
    }
}

/// A path that does not exist yet, with every symlink on the way followed: a dangling
/// link is written through, as a shell's `>` would.
fn follow_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                let base = current.parent().unwrap_or(Path::new(""));
                current = base.join(link);
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// `path` with its directory made absolute, to tell whether two paths name one file.
fn canonical(path: &Path) -> PathBuf {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    path.file_name().map_or(dir.clone(), |name| dir.join(name))
}

/// A report replacing a file keeps that file's permissions; a new one gets the usual
/// rw-r--r-- (a temporary file is created private).
fn set_report_permissions(temporary: &tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    let permissions = match fs::metadata(target) {
        Ok(existing) => existing.permissions(),
        Err(_) => {
            let mut permissions = temporary.as_file().metadata()?.permissions();
            #[cfg(unix)]
            std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o644);
            permissions
        }
    };
    temporary.as_file().set_permissions(permissions)
}

/// Open every output a command was given, before it runs anything; refuse two that
/// would overwrite each other. `outputs` pairs each flag with its path.
pub fn create_all(outputs: &[(&str, &Path)]) -> Result<Vec<OutputFile>, Failure> {
    let mut files: Vec<(&str, OutputFile)> = Vec::new();
    for &(flag, path) in outputs {
        let file = OutputFile::create(path)?;
        if let Some((other, _)) = files.iter().find(|(_, f)| f.clashes_with(&file)) {
            return Err(Failure::input(format!(
                "{other} and {flag} both name {}: each output needs a file of its own",
                path.display()
            )));
        }
        files.push((flag, file));
    }
    Ok(files.into_iter().map(|(_, f)| f).collect())
}

/// Write `text` to `path` at once (see [`OutputFile`]).
pub fn write_output(path: &Path, text: &str) -> Result<(), Failure> {
    let mut file = OutputFile::create(path)?;
    file.write_all(text.as_bytes())
        .map_err(|e| Failure::input(format!("cannot write {}: {e}", path.display())))?;
    file.commit()
}

/// Campaign progress on stderr: a bar (seeds/s, failures, ETA) on a terminal, a plain
/// line every tenth of the campaign otherwise, nothing with `-q`. Progress is the only place dsim reads the
/// wall clock, and it never reaches a report.
pub struct Progress {
    bar: Option<ProgressBar>,
    threads: usize,
    started: Instant,
    total: u64,
    done: AtomicU64,
    failed: AtomicU64,
    plain: Mutex<u64>,
    /// `-q`: no bar, no progress lines, no speed.
    quiet: bool,
}

impl Progress {
    pub fn new(total: u64, threads: usize) -> Self {
        let quiet = style().quiet;
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
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
            quiet,
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
            None if self.quiet => {}
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
        if self.quiet {
            return;
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

/// How much the command line prints, and whether in colour: set once from the global
/// flags (`-q`, `-v`, `--color`) before a command runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub quiet: bool,
    pub verbose: bool,
}

static STYLE: Mutex<Style> = Mutex::new(Style { color: false, quiet: false, verbose: false });

pub fn set_style(style: Style) {
    *STYLE.lock().expect("style lock") = style;
}

pub fn style() -> Style {
    *STYLE.lock().expect("style lock")
}

/// Whether `--color` (`auto`, `always`, `never`) means colour on standard output, with
/// `no_color` the value of `NO_COLOR` and `term` that of `TERM`: `auto` is colour on a
/// terminal unless NO_COLOR is set to anything (https://no-color.org) or TERM is `dumb`.
pub fn color_wanted(
    choice: &str,
    no_color: Option<&str>,
    term: Option<&str>,
    terminal: bool,
) -> bool {
    match choice {
        "always" => true,
        "never" => false,
        _ => terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb"),
    }
}

/// Whether standard output is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// A colour for a verdict's word.
#[derive(Clone, Copy, Debug)]
pub enum Paint {
    Green,
    Red,
    Yellow,
}

/// `text` in `paint` when the style has colour (ANSI SGR codes), else as it is.
pub fn paint(text: &str, paint: Paint) -> String {
    if !style().color {
        return text.to_owned();
    }
    let code = match paint {
        Paint::Green => "32",
        Paint::Red => "31",
        Paint::Yellow => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Run `f` and say how long it took in wall-clock seconds: the JUnit `time` of a seed,
/// the one report field that is not deterministic.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_is_for_terminals_unless_no_color_or_a_dumb_terminal_and_the_flag_wins() {
        let auto = |no_color, term, terminal| color_wanted("auto", no_color, term, terminal);
        assert!(auto(None, Some("xterm-256color"), true));
        assert!(!auto(None, Some("xterm"), false), "not a terminal");
        assert!(!auto(Some("1"), Some("xterm"), true), "NO_COLOR set");
        assert!(auto(Some(""), Some("xterm"), true), "NO_COLOR empty counts as unset");
        assert!(!auto(None, Some("dumb"), true));
        assert!(color_wanted("always", Some("1"), Some("dumb"), false));
        assert!(!color_wanted("never", None, Some("xterm"), true));
    }
}
