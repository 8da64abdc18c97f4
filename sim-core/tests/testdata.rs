//! Every real history in `testdata/histories` (in the repository, copied unchanged from their
//! sources; see that folder's README) gets the
//! verdict its source project's own tests assert. See that folder's README.

use sim_core::check::{self, DEFAULT_BUDGET, Format, ModelKind, Verdict};
use std::path::{Path, PathBuf};

fn histories_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/histories")
}

fn files_in(folder: &Path, suffix: &str) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", folder.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expected {
    Linearizable,
    NotLinearizable,
}

fn verdict_of(path: &Path, model: ModelKind) -> Verdict {
    let text = std::fs::read_to_string(path).expect("readable history");
    assert_eq!(check::detect_format(&text), Some(Format::JepsenEdn), "{}", path.display());
    let history = check::parse_history(&text, Format::JepsenEdn)
        .unwrap_or_else(|error| panic!("{}:{error}", path.display()));
    model
        .check(&history, DEFAULT_BUDGET)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn assert_verdict(path: &Path, model: ModelKind, expected: Expected) {
    let verdict = verdict_of(path, model);
    let got = match &verdict {
        Verdict::Linearizable => Expected::Linearizable,
        Verdict::NotLinearizable(_) => Expected::NotLinearizable,
        Verdict::Unknown { .. } => panic!("{}: {verdict}", path.display()),
    };
    assert_eq!(got, expected, "{}: {verdict}", path.display());
}

#[test]
fn every_history_gets_its_known_verdict() {
    let root = histories_folder();
    assert!(
        root.is_dir(),
        "the real histories are missing: expected them at {} (testdata/histories in the repository)",
        root.display()
    );
    let knossos = root.join("knossos/cas-register");
    let porcupine = root.join("porcupine/kv");
    let cases = [
        (knossos.join("good"), ".edn", ModelKind::CasRegister, Expected::Linearizable),
        (knossos.join("bad"), ".edn", ModelKind::CasRegister, Expected::NotLinearizable),
        (porcupine.clone(), "-ok.txt", ModelKind::KeyValue, Expected::Linearizable),
        (porcupine.clone(), "-bad.txt", ModelKind::KeyValue, Expected::NotLinearizable),
    ];
    let mut checked = Vec::new();
    for (folder, suffix, model, expected) in cases {
        let files = files_in(&folder, suffix);
        assert!(!files.is_empty(), "no *{suffix} files in {}", folder.display());
        for file in files {
            assert_verdict(&file, model, expected);
            checked.push(file);
        }
    }
    // Every file in the folders has a verdict above: a new file needs one too.
    let mut all = files_in(&knossos.join("good"), "");
    all.extend(files_in(&knossos.join("bad"), ""));
    all.extend(files_in(&porcupine, ""));
    all.retain(|path| path.is_file());
    let unchecked: Vec<_> = all.iter().filter(|path| !checked.contains(path)).collect();
    assert!(unchecked.is_empty(), "files with no known verdict: {unchecked:?}");
    // 113 good and 7 bad Knossos histories, 3 good and 3 bad Porcupine ones.
    assert_eq!(checked.len(), 126, "histories checked");
    println!("checked {} histories", checked.len());
}

/// Over the whole map (one search, no partition by key) the key-value histories get the
/// same verdicts; the 50-client ones are left out, as that search is too slow for a test.
#[test]
fn the_whole_map_model_gives_the_same_verdicts() {
    let porcupine = histories_folder().join("porcupine/kv");
    for (name, linearizable) in
        [("c01-ok.txt", true), ("c01-bad.txt", false), ("c10-ok.txt", true), ("c10-bad.txt", false)]
    {
        let path = porcupine.join(name);
        let text = std::fs::read_to_string(&path).expect("readable history");
        let history = check::parse_history(&text, Format::JepsenEdn).unwrap();
        let verdict = ModelKind::KeyValue.check_whole_map(&history, DEFAULT_BUDGET).unwrap();
        match &verdict {
            Verdict::Linearizable => assert!(linearizable, "{name}"),
            Verdict::NotLinearizable(violation) => {
                assert!(!linearizable, "{name}: {verdict}");
                assert_eq!(violation.key, None, "one search over every key");
            }
            Verdict::Unknown { .. } => panic!("{name}: {verdict}"),
        }
    }
}

/// Porcupine's 102 etcd histories (Jepsen's etcd test, converted line for line to EDN; see
/// the folder's README) get the verdicts Porcupine's tests assert.
#[test]
fn the_etcd_histories_get_porcupines_verdicts() {
    const LINEARIZABLE: [u32; 23] = [
        2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101, 102,
    ];
    let files = files_in(&histories_folder().join("porcupine/etcd"), ".edn");
    assert_eq!(files.len(), 102, "etcd histories");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let number: u32 = name["etcd_".len()..name.len() - ".edn".len()].parse().unwrap();
        let expected = if LINEARIZABLE.contains(&number) {
            Expected::Linearizable
        } else {
            Expected::NotLinearizable
        };
        assert_verdict(&file, ModelKind::CasRegister, expected);
    }
}
