//! Merkle trees for anti-entropy (Dynamo, §4.7): a replica keeps a hash tree over each key
//! range it is a home of, whose leaves hash the registers of a bucket of the range's keys
//! and whose inner nodes hash their children. Two replicas of a range compare trees top
//! down, descending only into subtrees whose hashes differ, and exchange only the
//! registers of the leaves that differ: replicas in sync cost one message of root hashes
//! per peer, not every register.
//!
//! The trees are computed from the store when compared (dsim's stores are small), not
//! kept up to date on every write.

use super::store::Version;
use sim_core::hash::stable_hash;
use sim_core::history::Value;

/// Children per inner node.
pub const FANOUT: u32 = 4;
/// Levels below the root: the leaves are at this level.
pub const DEPTH: u8 = 2;
/// Leaves per tree.
pub const LEAVES: u32 = FANOUT.pow(DEPTH as u32);

/// One node of one range's tree, as a replica sends it: its position and its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TreeNode {
    pub range: u32,
    pub level: u8,
    pub index: u32,
    pub hash: u64,
}

/// The leaf (bucket) of a range's tree that holds `key`.
pub fn leaf_of(key: u64) -> u32 {
    (stable_hash(&("merkle-leaf", key)) % u64::from(LEAVES)) as u32
}

/// The hash tree of one key range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    /// `levels[l][i]`: the hash of node `i` of level `l` (level 0 is the root).
    levels: Vec<Vec<u64>>,
}

impl Tree {
    /// The tree over `registers` (key, version, value), in key order.
    pub fn build<'a>(registers: impl Iterator<Item = (u64, &'a (Version, Value))>) -> Tree {
        let mut leaves = vec![0u64; LEAVES as usize];
        for (key, (version, value)) in registers {
            let leaf = &mut leaves[leaf_of(key) as usize];
            *leaf = stable_hash(&(*leaf, key, version, value));
        }
        let mut levels = vec![leaves];
        while levels[0].len() > 1 {
            let parents = levels[0].chunks(FANOUT as usize).map(stable_hash).collect();
            levels.insert(0, parents);
        }
        Tree { levels }
    }

    pub fn hash(&self, level: u8, index: u32) -> u64 {
        self.levels[level as usize][index as usize]
    }

    /// The children of inner node `index` (at any level above the leaves).
    pub fn children(index: u32) -> std::ops::Range<u32> {
        index * FANOUT..(index + 1) * FANOUT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn one_changed_register_changes_one_path_from_root_to_leaf() {
        let v = |time| Version { time, coordinator: 0, client: 0, seq: 0 };
        let mut a: BTreeMap<u64, (Version, Value)> =
            (0..40).map(|k| (k, (v(k), Value::Int(k as i64)))).collect();
        let before = Tree::build(a.iter().map(|(&k, r)| (k, r)));
        assert_eq!(before.levels.iter().map(Vec::len).collect::<Vec<_>>(), [1, 4, 16]);
        assert_eq!(before, Tree::build(a.iter().map(|(&k, r)| (k, r))));
        a.insert(7, (v(100), Value::Int(700)));
        let after = Tree::build(a.iter().map(|(&k, r)| (k, r)));
        let leaf = leaf_of(7);
        for level in 0..=DEPTH {
            let on_path = leaf / FANOUT.pow(u32::from(DEPTH - level));
            for index in 0..FANOUT.pow(u32::from(level)) {
                let differs = before.hash(level, index) != after.hash(level, index);
                assert_eq!(differs, index == on_path, "level {level} node {index}");
            }
        }
        assert!(Tree::children(on_path_parent(leaf)).contains(&leaf));
    }

    fn on_path_parent(leaf: u32) -> u32 {
        leaf / FANOUT
    }
}
