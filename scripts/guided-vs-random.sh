#!/usr/bin/env bash
# Seeds and wall time to the first failure of each known-bug switch of Raft and
# primary-backup, random (`dsim fuzz --seeds`) versus `dsim fuzz --guided`, median over
# CAMPAIGNS campaign seeds, on the scenario each switch's test uses
# (runner/tests/raft_examples.rs and pb_examples.rs, BUGS). Prints a Markdown table.
#
#   cargo build --release && nice -n 10 scripts/guided-vs-random.sh
#
# Random campaign c runs seeds c*100000 .. c*100000+MAX; guided campaign c is
# `--guided --campaign-seed c --count MAX`. Both stop at the first failure. A switch not
# found within MAX runs counts as MAX+1 (shown as ">MAX" when it is the median).
set -euo pipefail
DSIM=${DSIM:-target/release/dsim}
CAMPAIGNS=${CAMPAIGNS:-5}
MAX=${MAX:-2000}
JOBS=${JOBS:-2}
BUGS=(
  "raft commit_previous_term raft-flapping-leader"
  "raft vote_without_persist raft-crash-frenzy"
  "raft no_truncate_conflict raft-leader-isolation"
  "raft reply_before_sync raft-crash-storm"
  "raft stale_local_read raft-minority-leader"
  "raft fixed_election_timeout raft-steady"
  "raft commit_index_regresses raft-steady"
  "raft no_client_sessions raft-crash-storm"
  "primary-backup backup_reads pb-faults"
  "primary-backup reply_before_backups_ack pb-steady"
  "primary-backup keep_divergent_tail pb-failover"
  "primary-backup reads_without_lease pb-failover"
)

# Runs to the first failure and wall seconds of one campaign: `measure ARGS...`.
measure() {
  local start end out runs
  start=$(date +%s.%N)
  out=$("$DSIM" fuzz "$@" --stop-on-first --jobs "$JOBS" -q 2>/dev/null || true)
  end=$(date +%s.%N)
  runs=$(printf '%s\n' "$out" | awk 'NR == 1 { print $1 }')
  if printf '%s\n' "$out" | head -1 | grep -q ' 0 failed'; then
    runs=$((MAX + 1))
  fi
  echo "$runs $(echo "$end - $start" | bc)"
}

# The median of the numbers on standard input.
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

shown() {
  awk -v max="$MAX" '{ if ($1 > max) print ">" max; else print $1 }'
}

echo "| protocol | bug switch | scenario | random: runs | random: s | guided: runs | guided: s |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: |"
for entry in "${BUGS[@]}"; do
  read -r protocol bug scenario <<<"$entry"
  random=() guided=()
  for ((c = 0; c < CAMPAIGNS; c++)); do
    random+=("$(measure "$scenario" --bug "$bug" --seeds "$((c * 100000))..$((c * 100000 + MAX))")")
    guided+=("$(measure "$scenario" --bug "$bug" --guided --count "$MAX" --campaign-seed "$c")")
  done
  column() { printf '%s\n' "${@:2}" | awk -v f="$1" '{ print $f }' | median; }
  printf '| %s | %s | %s | %s | %.1f | %s | %.1f |\n' "$protocol" "$bug" "$scenario" \
    "$(column 1 "${random[@]}" | shown)" "$(column 2 "${random[@]}")" \
    "$(column 1 "${guided[@]}" | shown)" "$(column 2 "${guided[@]}")"
done
