#!/bin/sh
# The headless-browser test of the HTML report: needs Debian's chromium on PATH
# (apt-get install -y chromium). It writes two failing-seed pages (a Raft linearizability
# failure, a Raft invariant failure), loads each in Chromium at 1366x768, and checks that
# nothing is logged to the console and the failure is on the first screen.
set -eu
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
    echo "chromium is not on PATH: apt-get install -y chromium" >&2
    exit 3
fi
exec cargo test -p dsim --test see -- --ignored report_pages_load_in_chromium "$@" < /dev/null
