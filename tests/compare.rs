//! `dsim compare`: one table of latency and messages per operation for several scenarios
//! on the same seeds, the same for any number of threads, with its CSV.

mod common;

use common::{dsim, scratch, stderr, stdout};

#[test]
fn compare_prints_one_row_per_scenario_the_same_for_any_thread_count() {
    let dir = scratch("compare");
    let csv = dir.join("c.csv");
    let args = ["compare", "chain-base", "quorum-base", "--count", "3"];
    let one = dsim(&[&args[..], &["--jobs", "1", "--csv", csv.to_str().unwrap()]].concat());
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let two = dsim(&[&args[..], &["--jobs", "2"]].concat());
    assert_eq!(stdout(&one), stdout(&two));
    let text = stdout(&one);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("scenario") && lines[0].contains("write p99"), "{text}");
    assert!(lines[1].starts_with("chain-base") && lines[2].starts_with("quorum-base"), "{text}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert_eq!(rows[0][6], "write_p50_ns");
    for row in &rows[1..] {
        assert_eq!(row[2..4], ["3", "0"], "{csv}");
        let n = |i: usize| row[i].parse::<u64>().unwrap();
        // Every latency is positive, p50 at most p99; messages were sent.
        assert!(n(5) > n(4) && n(6) > 0 && n(6) <= n(7) && n(8) > 0 && n(8) <= n(9), "{csv}");
    }
    // The same figures as a fuzz of those seeds reports for the operations in total.
    let fuzz =
        dsim(&["fuzz", "chain-base", "--count", "3", "--csv", dir.join("f.csv").to_str().unwrap()]);
    assert_eq!(fuzz.status.code(), Some(0));
    let seeds = std::fs::read_to_string(dir.join("f.csv")).unwrap();
    let header: Vec<&str> = seeds.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let total = |name: &str| -> u64 {
        seeds
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(column(name)).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(rows[1][4].parse::<u64>().unwrap(), total("ops_invoked"));
    assert_eq!(rows[1][5].parse::<u64>().unwrap(), total("messages_sent"));
    // No seeds is bad input.
    assert_eq!(dsim(&["compare", "chain-base", "--count", "0"]).status.code(), Some(3));
}
