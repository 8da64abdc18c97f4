//! The loader answers every input with a scenario or with problems; it never panics.

use proptest::prelude::*;
use runner::Registry;
use scenarios::load_str;
use std::path::{Path, PathBuf};

fn examples() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// Apply one mutation to `text` at a position chosen by `at`.
fn mutate(text: &str, kind: u8, at: usize, len: usize, noise: &str) -> String {
    let bytes = text.as_bytes();
    let at = at % (bytes.len() + 1);
    let end = (at + len).min(bytes.len());
    let mut out = bytes[..at].to_vec();
    match kind % 4 {
        0 => out.extend_from_slice(&bytes[end..]),
        1 => {
            out.extend_from_slice(noise.as_bytes());
            out.extend_from_slice(&bytes[at..]);
        }
        2 => {
            out.extend_from_slice(noise.as_bytes());
            out.extend_from_slice(&bytes[end..]);
        }
        _ => {
            out.extend_from_slice(&bytes[at..end]);
            out.extend_from_slice(&bytes[at..]);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_str(Path::new("fuzz.toml"), &text, Registry::bundled().catalogue());
    }

    #[test]
    fn mutated_examples_never_panic(
        file in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec((any::<u8>(), any::<usize>(), 0usize..40, "[\\[\\]{}=\",.0-9a-z_ \n-]{0,12}"), 1..4),
    ) {
        let examples = examples();
        let (path, text) = &examples[file.index(examples.len())];
        let mut text = text.clone();
        for (kind, at, len, noise) in &mutations {
            text = mutate(&text, *kind, *at, *len, noise);
        }
        let registry = Registry::bundled();
        if let Ok(scenario) = load_str(path, &text, registry.catalogue()) {
            // Whatever loads must also plan without panicking.
            let _ = scenario.plan(1, &[]);
        }
    }
}
