//! `cargo bench`: the same measurements as `dsim bench engine` and `dsim bench checker`.

fn main() {
    dsim::bench::engine(10_000_000);
    dsim::bench::checker(100_000);
    dsim::bench::txn_checker(100_000);
}
