#!/usr/bin/env bash
# weft against two embedded durable-workflow engines on SQLite, side by side, on
# this machine, in one run: duroxide (Rust, crates.io) and DBOS Transact (Python,
# PyPI). Each runs the seed workflow idiomatically, with its own defaults
# (bench/peers/README.md lists every setting).
#
# Builds weft-bench and bench/peers/duroxide (cargo, release), installs
# bench/peers/dbos/requirements.txt into a virtual environment, then runs weft
# (Durability::Full), duroxide and DBOS alternately, three rounds, each run a
# fresh process on a fresh store: latency p50/p99 over 1 000 sequential
# workflows, throughput over 10 000 with at most 500 in flight, activities/s
# over 1 000 workflows of 10 sequential activities, and each process's peak RSS.
# Prints medians, min..max and weft ÷ peer (bench/peers/compare.py).
#
#   bench/compare_peers.sh                 # full sizes
#   SCALE=0.02 bench/compare_peers.sh      # every size x 0.02: a smoke run
#   ROUNDS=1 PEERS=weft,duroxide bench/compare_peers.sh
#   DUROXIDE_POLL_MS=10 bench/compare_peers.sh   # duroxide tuned (default 100 ms)
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-1}
ROUNDS=${ROUNDS:-3}
PEERS=${PEERS:-weft,duroxide,dbos}
VENV=${VENV:-target/peers-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
WORK=$(mktemp -d)

cleanup() {
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== machine"
echo "cores: $(nproc); memory: $(free -h | awk '/Mem:/ {print $2}'); kernel: $(uname -r)"
echo "stores under: $WORK ($(df -h "$WORK" | awk 'NR==2 {print $1", "$2}'))"
python3 bench/fsync_probe.py "$WORK"

echo "== building weft-bench and duroxide-bench (release)"
cargo build -q --release -p weft-bench
cargo build -q --release --locked --manifest-path bench/peers/duroxide/Cargo.toml
echo "weft: $(cargo pkgid -p weft | sed 's/.*#//'); duroxide: $(cargo pkgid -q --manifest-path bench/peers/duroxide/Cargo.toml duroxide | sed 's/.*@//'); rustc: $(rustc --version)"

# Peak RSS and CPU time per run come from GNU time (see bench/peers/compare.py).
if ! [ -x /usr/bin/time ] && [ "$(id -u)" = 0 ]; then
  echo "== installing GNU time (Debian package time)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time > /dev/null || true
fi

echo "== installing bench/peers/dbos/requirements.txt into $VENV"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -r bench/peers/dbos/requirements.txt
echo "dbos: $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("dbos"))'); python: $("$VENV/bin/python" -c 'import sys, sqlite3; print(sys.version.split()[0], "sqlite", sqlite3.sqlite_version)')"

echo "== runs"
python3 bench/peers/compare.py --scale "$SCALE" --rounds "$ROUNDS" --peers "$PEERS" --work "$WORK" \
  --weft "$CARGO_TARGET_DIR/release/weft-bench" \
  --duroxide "$CARGO_TARGET_DIR/release/duroxide-bench" \
  --dbos-python "$VENV/bin/python" --dbos-script bench/peers/dbos/bench.py \
  --json "${JSON:-$CARGO_TARGET_DIR/compare-peers.json}"
