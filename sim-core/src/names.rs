//! Looking a name up among the valid ones, and saying what was meant when it is not one:
//! every name a user types (an option, a bug switch, a partition kind, a model, a
//! protocol, a scenario key) is checked here, so every misspelling gets the same hint.

/// The Levenshtein distance between `a` and `b` (insertions, deletions, substitutions),
/// over characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // One row of the edit-distance table: row[j] is the distance from a prefix of `a` to
    // the first j characters of `b`.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The valid name closest to `name`, if one is close enough to be a likely misspelling:
/// within two edits, or a third of the valid name's length for long names. Ties go to the
/// earlier name in `valid`.
pub fn closest<'a>(name: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .enumerate()
        .map(|(i, v)| (distance(name, v), i, *v))
        .filter(|&(d, _, v)| d <= 2.max(v.chars().count() / 3))
        .min()
        .map(|(_, _, v)| v)
}

/// The message for a `name` that is not one of `valid`, e.g. "unknown option
/// `electon_timeout_min`; did you mean `election_timeout_min`? valid: ...". `what` names
/// the kind of thing ("option", "bug switch", "partition kind").
pub fn unknown(what: &str, name: &str, valid: &[&str]) -> String {
    let hint = closest(name, valid).map(|near| format!(" did you mean `{near}`?"));
    let valid = if valid.is_empty() { "(none)".to_owned() } else { valid.join(", ") };
    format!("unknown {what} `{}`;{} valid: {valid}", shown(name), hint.unwrap_or_default())
}

/// `text` as a message shows what an input gave: control characters escaped, and a long
/// one cut to its start and its length, so that a message stays one short line.
pub fn shown(text: &str) -> String {
    const SHOWN: usize = 60;
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() <= SHOWN {
        return escaped;
    }
    let start: String = escaped.chars().take(SHOWN).collect();
    format!("{start}... ({} characters)", text.chars().count())
}

/// The item of `items` whose name (by `name_of`) is `name`, or the [`unknown`] message.
pub fn lookup<'a, T>(
    what: &str,
    name: &str,
    items: &'a [T],
    name_of: impl Fn(&T) -> &str,
) -> Result<&'a T, String> {
    items.iter().find(|item| name_of(item) == name).ok_or_else(|| {
        let valid: Vec<&str> = items.iter().map(&name_of).collect();
        unknown(what, name, &valid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_count_single_character_edits() {
        for (a, b, expected) in [
            ("", "", 0),
            ("abc", "abc", 0),
            ("", "abc", 3),
            ("kitten", "sitting", 3),
            ("electon", "election", 1),
            ("ab", "ba", 2),
            ("µs", "us", 1),
        ] {
            assert_eq!(distance(a, b), expected, "{a:?} -> {b:?}");
            assert_eq!(distance(b, a), expected, "{b:?} -> {a:?}");
        }
    }

    #[test]
    fn the_closest_name_is_a_likely_misspelling_or_none() {
        let options = ["election_timeout_min", "election_timeout_max", "heartbeat_interval"];
        for (typed, expected) in [
            ("electon_timeout_min", Some("election_timeout_min")),
            ("election_timeout_mx", Some("election_timeout_max")),
            ("heartbeat", None),
            ("heartbeat_intervall", Some("heartbeat_interval")),
            ("zzz", None),
        ] {
            assert_eq!(closest(typed, &options), expected, "{typed}");
        }
        assert_eq!(closest("los", &["loss", "latency"]), Some("loss"));
        assert_eq!(closest("x", &[]), None);
        // A tie goes to the name listed first.
        assert_eq!(closest("ab", &["ax", "ay"]), Some("ax"));
    }

    #[test]
    fn unknown_names_get_a_hint_and_the_valid_list() {
        assert_eq!(
            unknown("option", "electon_timeout_min", &["election_timeout_min", "pre_vote"]),
            "unknown option `electon_timeout_min`; did you mean `election_timeout_min`? \
             valid: election_timeout_min, pre_vote"
        );
        assert_eq!(
            unknown("bug switch", "figure_8", &["backup_reads"]),
            "unknown bug switch `figure_8`; valid: backup_reads"
        );
        assert_eq!(unknown("bug switch", "x", &[]), "unknown bug switch `x`; valid: (none)");
        let kinds = [("ring", 1), ("halves", 2)];
        assert_eq!(lookup("kind", "halves", &kinds, |k| k.0), Ok(&("halves", 2)));
        assert_eq!(
            lookup("kind", "rings", &kinds, |k| k.0),
            Err("unknown kind `rings`; did you mean `ring`? valid: ring, halves".to_owned())
        );
    }
}
