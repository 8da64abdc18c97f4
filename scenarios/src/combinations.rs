//! A scenario's protocol options checked against the protocol's own `configure` at load,
//! so that a combination it refuses (a maximum below its minimum) is reported where it is
//! written, before any seed runs.
//!
//! A swarm knob is checked at its ends: both ends of a range, every choice of a list. The
//! ends of all knobs are checked in every combination while there are at most
//! [`MAX_COMBINATIONS`]; past that, each option's ends are checked with every other option
//! at its first end, and then all last ends together. A draw between the ends that the
//! protocol still refuses is reported by the run of that seed.

use crate::catalogue::Catalogue;
use crate::reader::Knob;
use crate::schema::{ProtocolOptions, Scenario};
use sim_core::protocol::{ConfigError, OptionValue, OptionValues};

/// The most combinations of ends checked in full.
pub const MAX_COMBINATIONS: usize = 4096;

/// A combination of option values (and bug switches) that the protocol refuses.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The swarm options' values in the refused combination, in scenario order; empty
    /// when every option is fixed.
    pub drawn: Vec<(String, OptionValue)>,
    pub error: ConfigError,
}

impl Refusal {
    /// What `protocol` refused and why, in one sentence.
    pub fn describe(&self, protocol: &str) -> String {
        let (reason, bad_value) = match &self.error {
            ConfigError::BadValue { message, .. } => (message.clone(), true),
            other => (other.to_string(), false),
        };
        if self.drawn.is_empty() {
            // A value its option's type cannot hold is wrong on its own.
            return if bad_value {
                reason
            } else {
                format!("{protocol} refuses these options: {reason}")
            };
        }
        let values: Vec<String> = self.drawn.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!(
            "{protocol} refuses a swarm draw at the ends of the ranges ({}): {reason}",
            values.join(", ")
        )
    }
}

/// The distinct values of `knob` to check.
fn ends<T: Clone + PartialEq>(knob: &Knob<T>) -> Vec<T> {
    let all: Vec<&T> = match knob {
        Knob::Fixed(x) => vec![x],
        Knob::Range(low, high) => vec![low, high],
        Knob::OneOf(xs) => xs.iter().collect(),
    };
    let mut distinct: Vec<T> = Vec::new();
    for value in all {
        if !distinct.contains(value) {
            distinct.push(value.clone());
        }
    }
    distinct
}

/// The combinations to check, each an index into every option's ends (each size at least
/// one): all of them while they are few enough, the first option varying fastest.
fn combinations(sizes: &[usize]) -> Vec<Vec<usize>> {
    let total = sizes.iter().try_fold(1usize, |product, &n| product.checked_mul(n));
    match total.filter(|&total| total <= MAX_COMBINATIONS) {
        Some(total) => (0..total)
            .map(|mut i| {
                sizes
                    .iter()
                    .map(|&n| {
                        let end = i % n;
                        i /= n;
                        end
                    })
                    .collect()
            })
            .collect(),
        None => {
            let mut out = vec![vec![0; sizes.len()]];
            for (option, &n) in sizes.iter().enumerate() {
                for end in 1..n {
                    let mut combination = vec![0; sizes.len()];
                    combination[option] = end;
                    out.push(combination);
                }
            }
            out.push(sizes.iter().map(|&n| n - 1).collect());
            out
        }
    }
}

/// The first combination of `options`' ends that `configure` refuses.
pub fn first_refusal(
    options: &ProtocolOptions,
    configure: impl Fn(&OptionValues) -> Result<(), ConfigError>,
) -> Option<Refusal> {
    let ends: Vec<Vec<OptionValue>> = options.iter().map(|(_, knob)| ends(knob)).collect();
    let sizes: Vec<usize> = ends.iter().map(Vec::len).collect();
    for combination in combinations(&sizes) {
        let chosen = || {
            options
                .iter()
                .zip(&ends)
                .zip(&combination)
                .map(|(((name, knob), ends), &i)| (name, knob, &ends[i]))
        };
        let values: OptionValues =
            chosen().map(|(name, _, value)| (name.clone(), value.clone())).collect();
        if let Err(error) = configure(&values) {
            let drawn = chosen()
                .filter(|(_, knob, _)| !knob.is_fixed())
                .map(|(name, _, value)| (name.clone(), value.clone()))
                .collect();
            return Some(Refusal { drawn, error });
        }
    }
    None
}

/// The first combination of `options`' ends that `configure` refuses at one of the ends of
/// the cluster size `nodes` (smallest first); a drawn size is named first in the refusal.
pub fn first_refusal_of_sizes(
    options: &ProtocolOptions,
    nodes: &Knob<i64>,
    configure: impl Fn(&OptionValues, u32) -> Result<(), ConfigError>,
) -> Option<Refusal> {
    let mut sizes = ends(nodes);
    sizes.sort_unstable();
    sizes.into_iter().find_map(|n| {
        let mut refusal = first_refusal(options, |values| configure(values, n as u32))?;
        if !nodes.is_fixed() {
            refusal.drawn.insert(0, ("cluster.nodes".to_owned(), OptionValue::Int(n)));
        }
        Some(refusal)
    })
}

impl Scenario {
    /// The first combination of this scenario's options that its protocol refuses with
    /// `extra_bugs` on besides the scenario's own (`--bug`). The scenario's own
    /// combinations were checked when it loaded.
    pub fn refusal(&self, catalogue: &Catalogue, extra_bugs: &[String]) -> Option<Refusal> {
        let entry = catalogue.get(&self.protocol)?;
        let bugs = self.bugs_with(extra_bugs);
        first_refusal_of_sizes(&self.options, &self.nodes, |values, nodes| {
            (entry.configure)(values, &bugs, nodes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_ends_are_checked_in_every_combination() {
        assert_eq!(combinations(&[]), vec![Vec::<usize>::new()]);
        assert_eq!(
            combinations(&[2, 1, 3]),
            [[0, 0, 0], [1, 0, 0], [0, 0, 1], [1, 0, 1], [0, 0, 2], [1, 0, 2]]
        );
    }

    #[test]
    fn many_ends_are_checked_one_option_at_a_time() {
        let sizes = [2; 13];
        let checked = combinations(&sizes);
        assert_eq!(checked.len(), 1 + 13 + 1);
        assert_eq!(checked[0], [0; 13]);
        assert_eq!(checked[14], [1; 13]);
        assert!(checked[1..14].iter().all(|c| c.iter().sum::<usize>() == 1));
        // A product that overflows is many, too.
        assert_eq!(combinations(&[3; 64]).len(), 1 + 64 * 2 + 1);
    }

    #[test]
    fn ends_are_the_distinct_values_a_knob_can_draw_at_its_edges() {
        let int = OptionValue::Int;
        assert_eq!(ends(&Knob::Fixed(int(3))), [int(3)]);
        assert_eq!(ends(&Knob::Range(int(1), int(9))), [int(1), int(9)]);
        assert_eq!(ends(&Knob::Range(int(4), int(4))), [int(4)]);
        assert_eq!(ends(&Knob::OneOf(vec![int(2), int(5), int(2)])), [int(2), int(5)]);
    }
}
