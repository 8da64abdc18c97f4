//! Every example of every `--help` text runs, as written, from a directory that is not
//! the repository (so a bundled scenario must be named, not found by path): each help
//! text's examples in order in a fresh directory, through `sh -c` with `dsim` on PATH.
//! An example may find a failure (exit 1 or 2: several run a known-bug switch), but none
//! may be refused (3), crash (101) or die of a signal.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dsim_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_dsim")).parent().unwrap().to_owned()
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dsim")).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands `dsim --help` lists.
fn subcommands(top: &str) -> Vec<String> {
    top.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The example command lines of a help text: the lines under `Examples:` or `Example:`
/// up to the first blank line.
fn examples(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| *l != "Examples:" && *l != "Example:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn every_help_example_runs_from_outside_the_repository() {
    let top = help(&["--help"]);
    let commands = subcommands(&top);
    assert!(commands.len() >= 9, "{commands:?}");
    let mut texts = vec![("dsim".to_owned(), top)];
    for command in &commands {
        texts.push((command.clone(), help(&[command, "--help"])));
    }
    let path = format!("{}:{}", dsim_dir().display(), std::env::var("PATH").unwrap_or_default());
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ran = 0;
    for (name, text) in &texts {
        let lines = examples(text);
        assert!(!lines.is_empty(), "`{name} --help` has no examples:\n{text}");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("help_examples").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!dir.starts_with(repository.join("scenarios")));
        // The one input no example can make: a Jepsen history, from testdata/.
        std::fs::copy(
            repository.join("testdata/histories/knossos/cas-register/good/memstress3-4.edn"),
            dir.join("history.edn"),
        )
        .unwrap();
        for line in lines {
            assert!(line.starts_with("dsim "), "`{name} --help`: {line:?} is not a dsim command");
            let out = Command::new("sh")
                .arg("-c")
                .arg(&line)
                .current_dir(&dir)
                .env("PATH", &path)
                .env_remove("DSIM_SCENARIO_PATH")
                .output()
                .unwrap();
            let code = out.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "`{name} --help` example {line:?} exited {code:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 25, "ran only {ran} examples");
}
