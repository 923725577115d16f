"""Runs weft, duroxide and DBOS alternately and prints medians, min..max and weft ÷ peer.

Called by bench/compare_peers.sh, which builds and installs everything first:

    python3 bench/peers/compare.py --weft BIN --duroxide BIN --dbos-python PY --dbos-script PATH
                                   [--scale 1] [--rounds 3] [--work DIR] [--json FILE]

Each run is a fresh process with a fresh directory for its store; its peak RSS and
CPU time are what GNU time (/usr/bin/time) reports for it. Standard library only.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SCENARIOS = ["latency", "throughput", "activities"]
PEERS = ["weft", "duroxide", "dbos"]
# A run that takes longer than this has hung; the comparison stops.
TIMEOUT_S = 4 * 3600


def scaled(n: int, scale: float) -> int:
    return max(1, int(n * scale + 0.5))


def command(args, peer: str, scenario: str, directory: str) -> tuple[list, dict]:
    env = dict(os.environ)
    if peer == "weft":
        # weft-bench --child puts its store under the temporary directory.
        env["TMPDIR"] = directory
        return [args.weft, "--child", scenario, "full", str(args.scale)], env
    if peer == "duroxide":
        return [args.duroxide, scenario, str(args.scale), directory], env
    return [args.dbos_python, args.dbos_script, scenario, str(args.scale), directory], env


# GNU time measures a child it forks itself. The driver's own children cannot be
# measured as well: Linux counts into a child's ru_maxrss the memory of the process
# it was forked from, until its exec, so wait4 would report at least the driver's
# own RSS (about 15 MiB of Python) for every peer.
GNU_TIME = "/usr/bin/time"


def has_gnu_time() -> bool:
    try:
        done = subprocess.run([GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True, check=False)
    except OSError:
        return False
    return done.returncode == 0 and done.stderr.strip().isdigit()


def run(args, peer: str, scenario: str) -> dict:
    """One fresh process: its figures, peak RSS in MiB, wall and CPU seconds, settings line."""
    directory = tempfile.mkdtemp(prefix=f"{peer}-{scenario}-", dir=args.work)
    argv, env = command(args, peer, scenario, directory)
    out_path, err_path = os.path.join(args.work, "stdout"), os.path.join(args.work, "stderr")
    usage_path = os.path.join(args.work, "usage")
    if args.gnu_time:
        argv = [GNU_TIME, "-f", "%M %U %S", "-o", usage_path] + argv
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env, stdin=subprocess.DEVNULL)
    try:
        child.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    stdout = open(out_path, encoding="utf-8", errors="replace").read()
    stderr = open(err_path, encoding="utf-8", errors="replace").read()
    shutil.rmtree(directory, ignore_errors=True)
    lines = [line for line in stdout.splitlines() if line.strip()]
    if child.returncode != 0 or not lines:
        sys.exit(
            f"{peer} {scenario} failed (exit {child.returncode}) after {wall:.1f} s:\n{stdout[-3000:]}\n{stderr[-3000:]}"
        )
    if args.gnu_time:
        rss_kib, user, system = open(usage_path).read().split("\n")[-2].split()
        rss_mib, cpu = int(rss_kib) / 1024.0, float(user) + float(system)
    else:
        # Upper bounds only (see GNU_TIME): the largest child so far, CPU since the last run.
        rss_mib = usage.ru_maxrss / 1024.0
        cpu = usage.ru_utime + usage.ru_stime - args.cpu_so_far
        args.cpu_so_far += cpu
    figures = [float(x) for x in lines[-1].split()]
    settings = next((line for line in stderr.splitlines() if line.startswith("# ")), None)
    return {"figures": figures, "rss_mib": rss_mib, "wall_s": wall, "cpu_s": cpu, "settings": settings}


# (label, scenario, figure index or "rss", unit, lower is better)
ROWS = [
    ("latency p50", "latency", 0, "ms", True),
    ("latency p99", "latency", 1, "ms", True),
    ("throughput", "throughput", 0, "wf/s", False),
    ("activities", "activities", 0, "act/s", False),
    ("peak RSS, latency", "latency", "rss", "MiB", True),
    ("peak RSS, throughput", "throughput", "rss", "MiB", True),
    ("peak RSS, activities", "activities", "rss", "MiB", True),
]


def values(results, peer, scenario, index):
    runs = results[peer][scenario]
    return [r["rss_mib"] if index == "rss" else r["figures"][index] for r in runs]


def fmt(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}".replace(",", " ")
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def summary(results, peers) -> list[str]:
    lines = []
    header = f"{'':<22}" + "".join(f"{p:>28}" for p in peers)
    header += "".join(f"{'weft vs ' + p:>18}" for p in peers if p != "weft")
    lines.append(header)
    for label, scenario, index, unit, lower_better in ROWS:
        row = f"{label + ' (' + unit + ')':<22}"
        medians = {}
        for peer in peers:
            v = values(results, peer, scenario, index)
            medians[peer] = statistics.median(v)
            row += f"{fmt(medians[peer]) + ' (' + fmt(min(v)) + '..' + fmt(max(v)) + ')':>28}"
        for peer in peers:
            if peer == "weft":
                continue
            w, p = medians.get("weft"), medians[peer]
            if w is None or w == 0 or p == 0:
                row += f"{'n/a':>18}"
                continue
            ratio = p / w if lower_better else w / p
            row += f"{ratio:>17.1f}x"
        lines.append(row)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weft", required=True)
    parser.add_argument("--duroxide", required=True)
    parser.add_argument("--dbos-python", required=True)
    parser.add_argument("--dbos-script", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated, in run order")
    parser.add_argument("--work", default=None, help="where the stores go (default: a new temporary directory)")
    parser.add_argument("--json", default=None, help="write every run's figures here")
    args = parser.parse_args()
    peers = args.peers.split(",")
    args.work = args.work or tempfile.mkdtemp(prefix="compare-peers-")
    args.gnu_time, args.cpu_so_far = has_gnu_time(), 0.0
    if not args.gnu_time:
        print(f"note: no GNU time at {GNU_TIME} (Debian package time): peak RSS is the largest child's so far, "
              "floored by this driver's own RSS")

    s = args.scale
    print(
        f"sizes (scale {s}): latency {scaled(1000, s)} sequential workflows (after 50 unmeasured); "
        f"throughput {scaled(10_000, s)} workflows, at most 500 in flight; "
        f"activities {scaled(1000, s)} workflows x 10 sequential activities, all started at once"
    )
    print(f"{args.rounds} rounds; in each, per scenario: {', '.join(peers)} (each a fresh process and store)")
    results = {peer: {scenario: [] for scenario in SCENARIOS} for peer in peers}
    settings = {}
    started = time.monotonic()
    for round_no in range(1, args.rounds + 1):
        for scenario in SCENARIOS:
            for peer in peers:
                r = run(args, peer, scenario)
                results[peer][scenario].append(r)
                if r["settings"] and peer not in settings:
                    settings[peer] = r["settings"]
                figures = " ".join(fmt(f) for f in r["figures"])
                print(
                    f"round {round_no} {scenario:<10} {peer:<8} {figures:<20} peak RSS {r['rss_mib']:7.1f} MiB"
                    f"   {r['wall_s']:6.1f} s, CPU {r['cpu_s'] / r['wall_s'] * 100:4.0f}%",
                    flush=True,
                )
    print(f"== all runs took {time.monotonic() - started:.0f} s")
    if settings:
        print("== settings the peers reported")
        for peer, line in settings.items():
            print(f"{peer}: {line[2:]}")
    print(f"== median (min..max) of {args.rounds} rounds; 'weft vs X' is X ÷ weft for latency and RSS")
    print("   (lower is better) and weft ÷ X for throughput and activities/s: above 1 means weft is ahead")
    for line in summary(results, peers):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"scale": s, "rounds": args.rounds, "settings": settings, "results": results}, f, indent=1)
        print(f"(every run's figures: {args.json})")


if __name__ == "__main__":
    main()
