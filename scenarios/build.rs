//! Embeds the bundled scenarios (`examples/` and `scale/`) in the crate, so that a `dsim`
//! binary finds them by name wherever it is installed: writes `$OUT_DIR/bundled.rs`, a
//! list of every file's path under `scenarios/` and its text (`include_str!`, relative to
//! the crate's directory when it compiles).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    let mut list = String::from("pub(crate) const FILES: &[(&str, &str)] = &[\n");
    for dir in ["examples", "scale"] {
        println!("cargo::rerun-if-changed={dir}");
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("cannot list scenarios/{dir}: {e}"))
            .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into())
            .filter(|name: &String| name.ends_with(".toml"))
            .collect();
        names.sort();
        // The path is the crate's at compile time, not this script's: a target directory
        // shared by two checkouts (CI's clone) must not embed the other one's files.
        for name in names {
            let path = format!("{dir}/{name}");
            let _ = writeln!(
                list,
                "    ({path:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{path}\"))),"
            );
        }
    }
    list.push_str("];\n");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("bundled.rs"), list).expect("OUT_DIR is writable");
}
