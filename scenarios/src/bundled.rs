//! The scenarios shipped inside the binary (`scenarios/examples/` and `scenarios/scale/`,
//! embedded by the build script), so that `dsim run raft-swarm` works wherever `dsim` is
//! installed. A bundled file's path is `bundled:examples/raft-swarm.toml`; its `extends`
//! resolve among the bundled files.

use std::path::{Component, Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// How the path of a bundled file begins, in messages and in `extends` chains.
pub const PREFIX: &str = "bundled:";

/// A scenario file shipped in the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundledFile {
    /// Its path under `scenarios/`, e.g. `examples/raft-swarm.toml`.
    pub path: &'static str,
    pub text: &'static str,
}

impl BundledFile {
    /// The name it is run by: its file name without `.toml`.
    pub fn name(&self) -> &'static str {
        let file = self.path.rsplit('/').next().unwrap_or(self.path);
        file.strip_suffix(".toml").unwrap_or(file)
    }

    /// Its path as loading sees it, e.g. `bundled:examples/raft-swarm.toml`.
    pub fn virtual_path(&self) -> PathBuf {
        PathBuf::from(format!("{PREFIX}{}", self.path))
    }
}

/// Every bundled file, the examples first, each directory in name order.
pub fn files() -> impl Iterator<Item = BundledFile> {
    FILES.iter().map(|&(path, text)| BundledFile { path, text })
}

/// The bundled file run as `name` (`raft-swarm`).
pub fn named(name: &str) -> Option<BundledFile> {
    files().find(|f| f.name() == name)
}

/// Whether `path` names a bundled file (begins with [`PREFIX`]).
pub fn is_bundled(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.starts_with(PREFIX))
}

/// The bundled file at `path` (`bundled:scale/../examples/base.toml` included).
pub fn at(path: &Path) -> Option<BundledFile> {
    let inner = path.to_str()?.strip_prefix(PREFIX)?;
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(inner).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    let normal = parts.join("/");
    files().find(|f| f.path == normal)
}

/// The bundled file whose file name is `file_name` (`raft-base.toml`): what a user's
/// `extends = "raft-base.toml"` means when no such file lies beside the user's file.
pub fn with_file_name(file_name: &str) -> Option<BundledFile> {
    files().find(|f| f.path.rsplit('/').next() == Some(file_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_and_scale_scenario_is_bundled_once_by_name() {
        for dir in ["examples", "scale"] {
            let on_disk = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
                .count();
            assert_eq!(files().filter(|f| f.path.starts_with(dir)).count(), on_disk);
        }
        let mut names: Vec<&str> = files().map(|f| f.name()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "two bundled files share a name");
        let swarm = named("raft-swarm").unwrap();
        assert_eq!(swarm.path, "examples/raft-swarm.toml");
        assert!(swarm.text.contains("name = \"raft-swarm\""));
        assert_eq!(at(&swarm.virtual_path()), Some(swarm));
        assert_eq!(
            at(Path::new("bundled:scale/../examples/raft-swarm.toml")),
            Some(swarm),
            "a relative extends between the two directories resolves"
        );
        assert_eq!(at(Path::new("bundled:../raft-swarm.toml")), None);
        assert_eq!(at(Path::new("examples/raft-swarm.toml")), None);
        assert_eq!(
            with_file_name("raft-base.toml").map(|f| f.path),
            Some("examples/raft-base.toml")
        );
    }
}
