//! `docs/tutorial.md` runs as written: in a fresh directory outside the repository, in
//! order, each file it gives (a ```toml block after `<!-- file: NAME -->`) is written and
//! each line of its ```sh blocks runs through `sh -c` with `dsim` on PATH, exiting 0 or
//! the code its `# exits N` comment says; every line of a ```text block after a ```sh block
//! is in what that block printed.

use std::path::{Path, PathBuf};
use std::process::Command;

enum Step {
    File { name: String, text: String },
    Commands(Vec<String>),
    Output(Vec<String>),
}

fn steps(markdown: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut file: Option<String> = None;
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_end();
        if let Some(name) = line.strip_prefix("<!-- file: ").and_then(|l| l.strip_suffix(" -->")) {
            file = Some(name.to_owned());
            continue;
        }
        let Some(language) = line.strip_prefix("```").filter(|l| !l.is_empty()) else {
            continue;
        };
        let block: Vec<String> =
            lines.by_ref().take_while(|l| l.trim() != "```").map(str::to_owned).collect();
        match language {
            "toml" => {
                let name = file.take().expect("a ```toml block of the tutorial names its file");
                steps.push(Step::File { name, text: block.join("\n") + "\n" });
            }
            "sh" => steps.push(Step::Commands(block)),
            "text" => steps.push(Step::Output(block)),
            other => panic!("a ```{other} block: the tutorial has sh, toml and text blocks"),
        }
    }
    steps
}

/// A command line and the exit code its `# exits N` comment expects (0 without one).
fn expected_exit(line: &str) -> (String, i32) {
    match line.split_once("  # exits ") {
        Some((command, code)) => (command.to_owned(), code.trim().parse().unwrap()),
        None => (line.to_owned(), 0),
    }
}

#[test]
fn every_command_of_the_tutorial_runs_and_prints_what_it_shows() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tutorial = std::fs::read_to_string(repository.join("docs/tutorial.md")).unwrap();
    let dir: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tutorial");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dsim_dir = Path::new(env!("CARGO_BIN_EXE_dsim")).parent().unwrap().to_owned();
    let path = format!("{}:{}", dsim_dir.display(), std::env::var("PATH").unwrap_or_default());
    let (mut commands, mut files, mut outputs) = (0, 0, 0);
    let mut printed = String::new();
    for step in steps(&tutorial) {
        match step {
            Step::File { name, text } => {
                std::fs::write(dir.join(name), text).unwrap();
                files += 1;
            }
            Step::Commands(lines) => {
                printed.clear();
                for line in lines.iter().filter(|l| !l.trim().is_empty()) {
                    let (command, code) = expected_exit(line);
                    let out = Command::new("sh")
                        .arg("-c")
                        .arg(&command)
                        .current_dir(&dir)
                        .env("PATH", &path)
                        .env_remove("DSIM_SCENARIO_PATH")
                        .output()
                        .unwrap();
                    let text = format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    assert_eq!(out.status.code(), Some(code), "`{command}`:\n{text}");
                    printed += &text;
                    commands += 1;
                }
            }
            Step::Output(lines) => {
                for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
                    assert!(
                        printed.contains(line),
                        "the tutorial shows {line:?}, but got:\n{printed}"
                    );
                }
                outputs += 1;
            }
        }
    }
    assert!(commands >= 10 && files >= 3 && outputs >= 6, "{commands} {files} {outputs}");
    // What the tutorial promises it made.
    assert!(dir.join("report/index.html").is_file());
    assert!(std::fs::read_to_string(dir.join("trace.jsonl")).unwrap().lines().count() > 1000);
    let minimal = std::fs::read_to_string(dir.join("minimal.toml")).unwrap();
    assert!(minimal.contains("bugs = [\"stale_local_read\"]"), "{minimal}");
}
