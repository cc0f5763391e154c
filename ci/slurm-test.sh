#!/usr/bin/env bash
# A sharded run on a real batch scheduler, compared byte for byte with a direct run.
#
# Starts a private single-node Slurm on loopback (munged, slurmctld and slurmd, their key,
# sockets, state and logs in a temporary folder; /etc is not touched), submits
# docs/cluster/shards.sbatch as an array job and docs/cluster/merge.sbatch after it
# (--dependency=afterok), waits, and compares the merged outputs with `rehabsim run`
# without shards. Debian's Slurm (slurmctld, slurmd, slurm-client: the slurm-wlm package
# without its recommended plugins) and munge are installed if missing (root + apt-get).
# If Slurm cannot be installed or started, the script says so plainly and tests the GNU
# parallel path instead (docs/cluster.md); if GNU parallel is missing too, plain background
# processes.
#
# Bounded in time (SLURM_TEST_TIMEOUT, default 480 s in all, installs included); stops
# the daemons it started. Exit status: 0 when the merged outputs equal the direct run's;
# 1 when they differ or rehabsim itself fails; never non-zero only because Slurm is
# unavailable here.
#
# Environment: REHABSIM (the binary; default target/release/rehabsim, built if missing),
# SLURM_TEST_TIMEOUT (seconds), SLURM_TEST_NO_INSTALL=1 (never run apt-get).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

LIMIT=${SLURM_TEST_TIMEOUT:-480}
if [ -z "${SLURM_TEST_BOUNDED:-}" ]; then
  exec env SLURM_TEST_BOUNDED=1 timeout --kill-after=15 "$LIMIT" "$0" "$@"
fi
START=$SECONDS
# The Slurm path must leave this much time for the fallback.
RESERVE=90

say() { echo "slurm-test: $*"; }
left() { echo $((LIMIT - RESERVE - (SECONDS - START))); }

BIN=${REHABSIM:-$ROOT/target/release/rehabsim}
if [ ! -x "$BIN" ]; then
  say "building $BIN"
  cargo build --release --locked --quiet || { say "FAIL: cannot build rehabsim"; exit 1; }
fi
SCENARIO=$ROOT/scenarios/default.toml
FLAGS="--replications 40 --persons 200"
N=4

WORK=$(mktemp -d /tmp/rehabsim-slurm.XXXXXX)
chmod 755 "$WORK" # munged's socket folder must be reachable by every user
DAEMONS=() # process ids of the daemons this script started (in the foreground, so ours)
JOBS=()
KEEP=0
CLEANING=0

cleanup() {
  CLEANING=1
  local t0=$SECONDS
  if [ ${#JOBS[@]} -gt 0 ] && command -v scancel >/dev/null 2>&1; then
    scancel "${JOBS[@]}" >/dev/null 2>&1 || true
  fi
  # Stop in reverse order of start (slurmd, slurmctld, munged), each by its own id.
  local i pid
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    pid=${DAEMONS[i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ ${#DAEMONS[@]} -gt 0 ] && say "stopped the daemons in $((SECONDS - t0)) s"
  if [ "$KEEP" = 1 ]; then
    say "logs and outputs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
on_signal() {
  [ "$CLEANING" = 1 ] && return # finish stopping the daemons first
  say "FAIL: out of time after ${LIMIT} s"
  KEEP=1
  exit 124
}
trap on_signal TERM INT

apt_install() {
  [ "${SLURM_TEST_NO_INSTALL:-}" = 1 ] && return 1
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  local t
  t=$(left)
  [ "$t" -gt 30 ] || return 1
  say "installing $* (apt-get, at most $((t - 20)) s)"
  export DEBIAN_FRONTEND=noninteractive
  timeout $((t - 20)) apt-get install -y -qq --no-install-recommends "$@" >"$WORK/apt.log" 2>&1 && return 0
  timeout $((t - 20)) apt-get update -qq >>"$WORK/apt.log" 2>&1 &&
    timeout $((t - 20)) apt-get install -y -qq --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1
}

# The reference: one unsharded run.
# shellcheck disable=SC2086
"$BIN" run "$SCENARIO" $FLAGS --no-break-even --quiet --out "$WORK/direct" 2>"$WORK/direct.log" || {
  cat "$WORK/direct.log"
  say "FAIL: the direct run failed"
  KEEP=1
  exit 1
}

compare() { # $1: path name, $2: folder of merged outputs
  if diff -r "$WORK/direct" "$2" >"$WORK/diff.log" 2>&1; then
    local files=("$2"/*)
    say "PASS ($1): $N shards merged; ${files[*]##*/} byte-identical to the direct run"
    return 0
  fi
  head -c 2000 "$WORK/diff.log"
  say "FAIL ($1): the merged outputs differ from the direct run"
  KEEP=1
  return 1
}

wait_for() { # $1 seconds, then a command that succeeds when ready
  local n=$(($1 * 2))
  shift
  for _ in $(seq 1 "$n"); do
    "$@" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

node_idle() { [ "$(sinfo -h -N -o %T 2>/dev/null | head -1)" = idle ]; }

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# Slurm path. Returns 0 when the merge job wrote its outputs, 1 when rehabsim failed in a
# job (a real failure), 2 when Slurm is unavailable here (the reason is printed).
slurm_path() {
  local need=(munged munge slurmctld slurmd sbatch squeue sinfo scontrol scancel)
  local missing=()
  for c in "${need[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  if [ ${#missing[@]} -gt 0 ]; then
    # slurm-wlm's own dependencies, without the optional plugins it recommends.
    apt_install slurmctld slurmd slurm-client munge || true
    missing=()
    for c in "${need[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
    if [ ${#missing[@]} -gt 0 ]; then
      say "Slurm unavailable: ${missing[*]} not installed and cannot be installed here"
      return 2
    fi
  fi
  if [ "$(id -u)" != 0 ]; then
    say "Slurm unavailable: starting munged, slurmctld and slurmd needs root"
    return 2
  fi

  # munge: a fresh key; the socket in a folder everyone can reach.
  local M=$WORK/munge
  mkdir -p "$M/key" "$M/run"
  local as_munge=()
  if id munge >/dev/null 2>&1; then
    chown munge: "$M/key" "$M/run"
    # setpriv execs munged itself, so the id we keep is munged's.
    as_munge=(setpriv --reuid=munge --regid=munge --init-groups)
  fi
  chmod 700 "$M/key"
  chmod 755 "$M/run"
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile="$M/key/munge.key" >/dev/null 2>&1
  else
    dd if=/dev/urandom of="$M/key/munge.key" bs=1 count=1024 2>/dev/null
  fi
  [ ${#as_munge[@]} -gt 0 ] && chown munge: "$M/key/munge.key"
  chmod 400 "$M/key/munge.key"
  local force=()
  [ ${#as_munge[@]} -eq 0 ] && force=(--force)
  "${as_munge[@]}" munged -F "${force[@]}" --key-file="$M/key/munge.key" \
    --socket="$M/run/munge.socket" --pid-file="$M/run/munged.pid" \
    --log-file="$M/run/munged.log" --seed-file="$M/key/munged.seed" >"$WORK/munged.out" 2>&1 &
  DAEMONS+=($!)
  if ! wait_for 20 test -S "$M/run/munge.socket"; then
    cat "$WORK/munged.out"
    say "Slurm unavailable: munged does not start"
    return 2
  fi
  if ! munge -S "$M/run/munge.socket" -n </dev/null | unmunge -S "$M/run/munge.socket" >/dev/null 2>&1; then
    say "Slurm unavailable: munge does not authenticate on loopback"
    return 2
  fi

  # slurm.conf for one node, `localhost`, described as slurmd sees this machine.
  local node ctld_port slurmd_port
  node=$(slurmd -C 2>/dev/null | head -1 | sed -e 's/^NodeName=[^ ]*//')
  if [ -z "$node" ]; then
    say "Slurm unavailable: slurmd -C cannot describe this machine"
    return 2
  fi
  ctld_port=$(free_port) && slurmd_port=$(free_port) || slurmd_port=""
  [ "$slurmd_port" = "$ctld_port" ] && slurmd_port=$(free_port)
  if [ -z "$slurmd_port" ] || [ "$slurmd_port" = "$ctld_port" ]; then
    say "Slurm unavailable: no two free ports on loopback"
    return 2
  fi
  local S=$WORK/slurm
  mkdir -p "$S/state" "$S/spool" "$WORK/logs" "$WORK/run"
  export SLURM_CONF=$S/slurm.conf
  cat >"$SLURM_CONF" <<EOF
ClusterName=rehabsimci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$M/run/munge.socket
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=localhost NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  slurmctld -D -i -f "$SLURM_CONF" >"$WORK/slurmctld.out" 2>&1 &
  DAEMONS+=($!)
  slurmd -D -f "$SLURM_CONF" -N localhost >"$WORK/slurmd.out" 2>&1 &
  DAEMONS+=($!)
  if ! wait_for 30 node_idle; then
    tail -n 5 "$WORK/slurmctld.out" "$WORK/slurmd.out" "$S/slurmctld.log" "$S/slurmd.log" 2>/dev/null
    say "Slurm unavailable: the node never became idle (state: $(sinfo -h -N -o %T 2>&1 | head -1))"
    return 2
  fi
  say "Slurm $(sinfo -V | cut -d' ' -f2) is up on loopback (node localhost:$node)"

  # The documented job scripts, as a user would submit them.
  local jid mid
  export SCENARIO RUN_DIR=$WORK/run REHABSIM=$BIN REHABSIM_FLAGS=$FLAGS
  jid=$(sbatch --parsable --array=0-$((N - 1)) --cpus-per-task=1 \
    --output="$WORK/logs/shard-%A_%a.out" "$ROOT/docs/cluster/shards.sbatch" 2>"$WORK/sbatch.err") || {
    cat "$WORK/sbatch.err"
    say "Slurm unavailable: sbatch refused the array job"
    return 2
  }
  JOBS+=("$jid")
  mid=$(sbatch --parsable --dependency=afterok:"$jid" --kill-on-invalid-dep=yes \
    --output="$WORK/logs/merge-%j.out" "$ROOT/docs/cluster/merge.sbatch" 2>"$WORK/sbatch.err") || {
    cat "$WORK/sbatch.err"
    say "Slurm unavailable: sbatch refused the merge job"
    return 2
  }
  JOBS+=("$mid")
  say "submitted array job $jid (shards 0–$((N - 1))) and merge job $mid (afterok:$jid)"
  while [ -n "$(squeue -h -j "$jid,$mid" 2>/dev/null)" ]; do
    if [ "$(left)" -le 0 ]; then
      squeue
      say "Slurm unavailable: the jobs did not finish in time"
      return 2
    fi
    sleep 1
  done
  if [ -f "$RUN_DIR/result/summary.json" ]; then
    return 0
  fi
  cat "$WORK"/logs/*.out 2>/dev/null | tail -n 20
  if grep -qs '^error: ' "$WORK"/logs/*.out; then
    say "FAIL: rehabsim failed inside a Slurm job (logs above)"
    return 1
  fi
  say "Slurm unavailable: the jobs ended without output (logs above)"
  return 2
}

parallel_path() {
  local R=$WORK/parallel
  rm -rf "$R"
  mkdir -p "$R"
  local shards
  shards=$(seq 0 $((N - 1)))
  if ! command -v parallel >/dev/null 2>&1; then
    apt_install parallel || true
  fi
  if command -v parallel >/dev/null 2>&1; then
    say "running $N shards with GNU parallel"
    # shellcheck disable=SC2086
    parallel --will-cite --halt now,fail=1 \
      "$BIN" run "$SCENARIO" $FLAGS --shard {}/$N --threads 1 --out "$R/part-{}" ::: $shards ||
      { say "FAIL: a shard failed under GNU parallel"; return 1; }
  else
    say "GNU parallel unavailable too: running $N shards as background processes"
    local pids=() k
    for k in $shards; do
      # shellcheck disable=SC2086
      "$BIN" run "$SCENARIO" $FLAGS --shard "$k/$N" --threads 1 --out "$R/part-$k" &
      pids+=($!)
    done
    for k in "${pids[@]}"; do
      wait "$k" || { say "FAIL: a shard failed"; return 1; }
    done
  fi
  "$BIN" merge "$R"/part-* --out "$R/result" --quiet || { say "FAIL: merge failed"; return 1; }
  compare "GNU parallel" "$R/result"
}

slurm_path
case $? in
  0) compare "Slurm array job + afterok merge" "$WORK/run/result" || exit 1 ;;
  1) KEEP=1; exit 1 ;;
  *)
    say "testing the GNU parallel path instead"
    parallel_path || exit 1
    ;;
esac
