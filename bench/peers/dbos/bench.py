"""The seed workflow on DBOS Transact, measured as `weft-bench --child` measures weft's
(bench/src/scenarios.rs: `latency`, `throughput`, `activities`).

    python bench.py latency|throughput|activities SCALE DIR

Runs on a fresh SQLite system database in DIR with DBOS's defaults, async workflows
and steps started with DBOS.start_workflow_async, prints the settings in force on
stderr and one line of figures on stdout: `p50_ms p99_ms`, `workflows_per_s` or
`activities_per_s`.
"""

import asyncio
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, SetWorkflowID


@dataclass
class YourParams:
    greeting: str
    name: str


# timeout_seconds: DBOS's per-attempt timeout of an async step, the nearest thing
# it has to a start-to-close timeout. Retries stay at DBOS's default (off).
@DBOS.step(name="YourActivity", timeout_seconds=60)
async def your_activity(params: YourParams) -> str:
    return f"{params.greeting}, {params.name}!"


@DBOS.workflow(name="YourWorkflow")
async def your_workflow(name: str) -> str:
    return await your_activity(YourParams(greeting="Hello", name=name))


@DBOS.step(name="Step", timeout_seconds=60)
async def step(i: int) -> int:
    return i + 1


@DBOS.workflow(name="Sequential")
async def sequential(n: int) -> int:
    x = 0
    for _ in range(n):
        x = await step(x)
    return x


def scaled(n: int, scale: float) -> int:
    # Rust's f64::round rounds halves away from zero; Python's round() does not.
    return max(1, int(n * scale + 0.5))


def percentile(sorted_values: list, p: float) -> float:
    return sorted_values[int((len(sorted_values) - 1) * p + 0.5)]


async def start(workflow, workflow_id: str, arg):
    with SetWorkflowID(workflow_id):
        return await DBOS.start_workflow_async(workflow, arg)


async def latency(n: int) -> list:
    """p50 and p99 in ms of n sequential workflows, start to result (after 50 unmeasured)."""
    times = []
    for i in range(n + 50):
        started = time.perf_counter()
        handle = await start(your_workflow, f"lat-{i}", "World")
        assert await handle.get_result() == "Hello, World!"
        if i >= 50:
            times.append((time.perf_counter() - started) * 1000.0)
    times.sort()
    return [percentile(times, 0.50), percentile(times, 0.99)]


async def throughput(n: int, in_flight: int) -> list:
    """Workflows per second, in_flight at a time, first start to last result."""
    slots = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        try:
            handle = await start(your_workflow, f"tp-{i}", "World")
            assert await handle.get_result() == "Hello, World!"
        finally:
            slots.release()

    started = time.perf_counter()
    tasks = []
    for i in range(n):
        await slots.acquire()
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return [n / (time.perf_counter() - started)]


async def activities(n: int) -> list:
    """Activities per second: n workflows of 10 sequential steps, all started, then all awaited."""
    started = time.perf_counter()
    handles = [await start(sequential, f"act-{i}", 10) for i in range(n)]
    for handle in handles:
        assert await handle.get_result() == 10
    return [n * 10 / (time.perf_counter() - started)]


def describe(config: DBOSConfig) -> None:
    """The settings in force, on stderr: DBOS's engine options and a pooled connection's pragmas."""
    pragmas = []
    try:
        from dbos._dbos import _get_dbos_instance  # internal: the system database's engine

        engine: sa.Engine = _get_dbos_instance()._sys_db.engine
        pool = f"pool {type(engine.pool).__name__} size {engine.pool.size()}"
        with engine.connect() as conn:
            for name in ["journal_mode", "synchronous", "busy_timeout", "cache_size"]:
                value = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                pragmas.append(f"{name}={value}")
    except Exception as e:  # reporting only: the run does not depend on it
        pool = f"(could not read the engine: {e!r})"
    print(
        f"# dbos {version('dbos')}, sqlalchemy {version('sqlalchemy')}, sqlite {sqlite3.sqlite_version}, "
        f"python {sys.version.split()[0]}; config {dict(config)}; {pool}; {' '.join(pragmas)}",
        file=sys.stderr,
    )


async def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: bench.py latency|throughput|activities SCALE DIR")
    mode, scale, directory = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    path = os.path.join(directory, "dbos.sqlite")
    config: DBOSConfig = {"name": "weft-peer-bench", "system_database_url": f"sqlite:///{path}"}
    DBOS(config=config)
    DBOS.launch()
    describe(config)
    if mode == "latency":
        figures = await latency(scaled(1000, scale))
    elif mode == "throughput":
        figures = await throughput(scaled(10_000, scale), 500)
    elif mode == "activities":
        figures = await activities(scaled(1000, scale))
    else:
        sys.exit(f"unknown mode {mode}")
    DBOS.destroy()
    print(" ".join(str(f) for f in figures), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
