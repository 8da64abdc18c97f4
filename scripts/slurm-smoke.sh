#!/bin/bash
# A real Slurm test of a sharded campaign: installs Debian's slurm-wlm and munge when they
# are missing, starts a one-machine cluster (munged, slurmctld and slurmd on this host,
# its own config in a scratch directory), submits examples/batch/slurm-array.sbatch (a
# 4-task array of one campaign, then the merge job after it), waits, and compares the
# merged reports with the unsharded campaign's, byte for byte. Needs root (slurmd) and
# apt-get; stops the daemons it started on the way out.
#   scripts/slurm-smoke.sh                         # builds target/release/dsim first
#   DSIM=target/debug/dsim DSIM_COUNT=40 scripts/slurm-smoke.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
scenario=${DSIM_SCENARIO:-raft-swarm}
count=${DSIM_COUNT:-200}
if [ -z "${DSIM:-}" ]; then
    (cd "$repo" && cargo build --release < /dev/null)
    DSIM=$repo/target/release/dsim
fi
dsim=$(cd "$(dirname "$DSIM")" && pwd)/$(basename "$DSIM")
step() { echo "== $*"; }

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
    step "installing slurm-wlm and munge"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge > /dev/null; then
        # Exit 77 (as automake's skip): the packages cannot be had here; nothing was tested.
        echo "skipped: apt-get cannot install slurm-wlm and munge on this machine"
        exit 77
    fi
fi
step "$(slurmctld -V), $(munged -V 2>&1 | head -1)"

work=$(mktemp -d /tmp/dsim-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
}
trap cleanup EXIT

step "starting munged"
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key 2> /dev/null ||
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge: /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
mkdir -p "$work/munge" && chown munge: "$work/munge"
socket=$work/munge/munge.socket
runuser -u munge -- munged --socket="$socket" --pid-file="$work/munge/munged.pid" \
    --seed-file="$work/munge/seed" --log-file="$work/munge/munged.log" --force
pids+=("$(cat "$work/munge/munged.pid")")
munge --socket="$socket" -n | unmunge --socket="$socket" > /dev/null

step "starting slurmctld and slurmd on $(hostname -s) ($(nproc) CPUs)"
host=$(hostname -s)
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=dsim-smoke
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=smoke Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -i
for _ in $(seq 50); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.2; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd
for _ in $(seq 50); do [ -s "$work/slurmd.pid" ] && break; sleep 0.2; done
pids+=("$(cat "$work/slurmd.pid")")
for _ in $(seq 100); do
    state=$(sinfo -h -N -o %t 2> /dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.3
done
sinfo -N -o "%N %t %c"

step "submitting 4 shards of $scenario ($count seeds) and the merge, waiting"
cd "$work"
export PATH=$(dirname "$dsim"):$PATH DSIM_SCENARIO=$scenario DSIM_COUNT=$count
started=$(date +%s)
bash "$repo/examples/batch/slurm-array.sbatch" --wait
step "array and merge done in $(($(date +%s) - started))s"
squeue
for log in dsim-shard-*.log dsim-merge-*.log; do
    grep -v '^progress: ' "$log" | sed "s/^/  $log: /"
done

step "the unsharded campaign on this machine"
"$dsim" fuzz "$scenario" --count "$count" --json whole.json --csv whole.csv --junit whole.xml || [ $? -le 2 ]
ls -l reports
for kind in json csv; do
    cmp "reports/all.$kind" "whole.$kind"
    echo "reports/all.$kind == whole.$kind ($(wc -c < "whole.$kind") bytes, $(sha256sum < "whole.$kind" | cut -c1-16))"
done
step "PASS: the Slurm array's merged reports equal the unsharded campaign byte for byte"
