#!/bin/bash
# dsim's linearizability checker beside Porcupine's (Go, commit 55508eb) on the same
# histories, in one run: Porcupine's 102 etcd logs (cas register), its six kv histories,
# and c10-ok and c10-bad checked without partitioning by key. Prints a table of CPU time
# of the check alone (parsing apart) for each, and the ratio. Not run by CI: it needs Go
# and Porcupine's repository, and takes about two minutes.
#   scripts/porcupine-side-by-side.sh        # builds target/release/dsim, clones Porcupine
#   PORCUPINE_DIR=~/src/porcupine DSIM=target/release/dsim scripts/porcupine-side-by-side.sh
# Porcupine's checkout must be at commit 55508eb (the one testdata/histories/README.md names).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
command -v go > /dev/null || { echo "needs Go (apt-get install golang-go)"; exit 77; }
if [ -z "${DSIM:-}" ]; then
    (cd "$repo" && cargo build --release < /dev/null)
    DSIM=$repo/target/release/dsim
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "${PORCUPINE_DIR:-}" ]; then
    git clone -q https://github.com/anishathalye/porcupine "$work/source"
    git -C "$work/source" checkout -q 55508eb
    PORCUPINE_DIR=$work/source
fi
# A copy, so that the harness file is never left in the caller's checkout.
cp -r "$PORCUPINE_DIR" "$work/porcupine"
cp "$repo/scripts/porcupine/dsim_side_by_side_test.go" "$work/porcupine/"
porcupine=$work/porcupine
(cd "$porcupine" && go test -c -o "$work/porcupine.test" > /dev/null)

etcd_logs=() etcd_edn=()
for edn in "$repo"/testdata/histories/porcupine/etcd/etcd_*.edn; do
    name=$(basename "$edn" .edn)
    etcd_logs+=("$porcupine/test_data/jepsen/$name.log")
    etcd_edn+=("$edn")
done
kv_names=(c01-ok c01-bad c10-ok c10-bad c50-ok c50-bad)
kv_porcupine=() kv_dsim=()
for name in "${kv_names[@]}"; do
    kv_porcupine+=("$porcupine/test_data/kv/$name.txt")
    kv_dsim+=("$repo/testdata/histories/porcupine/kv/$name.txt")
done
c10_porcupine=("$porcupine/test_data/kv/c10-ok.txt" "$porcupine/test_data/kv/c10-bad.txt")
c10_dsim=("$repo/testdata/histories/porcupine/kv/c10-ok.txt" "$repo/testdata/histories/porcupine/kv/c10-bad.txt")

# Porcupine's CPU milliseconds for a group: the harness's `total` line.
porcupine_ms() {
    local group=$1
    shift
    (cd "$porcupine" && DSIM_GROUP=$group DSIM_FILES="$*" "$work/porcupine.test" \
        -test.run TestDsimSideBySide -test.count 1 -test.v) | awk '$1 == "total" { print $2 }'
}
# dsim's CPU milliseconds: `dsim bench checker`'s last line, "... took N ms on the CPU in all".
dsim_ms() {
    "$DSIM" bench checker "$@" | tail -1 | sed -nE 's/.* took ([0-9.]+) ms on the CPU in all$/\1/p'
}

printf '%-32s %14s %10s %8s\n' histories "Porcupine ms" "dsim ms" ratio
row() {
    printf '%-32s %14s %10s %7.1fx\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)"
}
row "etcd (${#etcd_edn[@]} files)" "$(porcupine_ms etcd "${etcd_logs[@]}")" \
    "$(dsim_ms --model cas-register "${etcd_edn[@]}")"
row "kv (6 files)" "$(porcupine_ms kv "${kv_porcupine[@]}")" "$(dsim_ms --model kv "${kv_dsim[@]}")"
row "kv c10 no partition (2 files)" "$(porcupine_ms kv-no-partition "${c10_porcupine[@]}")" \
    "$(dsim_ms --model kv --no-partition "${c10_dsim[@]}")"
