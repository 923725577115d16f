"""The seed workflow on a real Temporal server, with the Temporal Python SDK.

Run by bench/compare_temporal.sh; prints one line per scenario:
  latency p50_ms p99_ms
  throughput workflows_per_s
  activities activities_per_s
"""
import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@dataclass
class YourParams:
    greeting: str
    name: str


@activity.defn
async def your_activity(input: YourParams) -> str:
    return f"{input.greeting}, {input.name}!"


@activity.defn
async def step(i: int) -> int:
    return i + 1


@workflow.defn(name="YourWorkflow")
class YourWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            your_activity, YourParams("Hello", name), start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn(name="TenSteps")
class TenSteps:
    @workflow.run
    async def run(self, n: int) -> int:
        x = 0
        for _ in range(n):
            x = await workflow.execute_activity(step, x, start_to_close_timeout=timedelta(seconds=10))
        return x


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--address", default="127.0.0.1:7233")
    p.add_argument("--latency", type=int, default=200)
    p.add_argument("--throughput", type=int, default=2000)
    p.add_argument("--in-flight", type=int, default=200)
    p.add_argument("--activities", type=int, default=200)
    args = p.parse_args()
    client = await Client.connect(args.address)
    queue = f"bench-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[YourWorkflow, TenSteps],
        activities=[your_activity, step],
        max_concurrent_activities=1000,
        max_concurrent_workflow_tasks=1000,
    ):
        run = uuid.uuid4().hex[:8]
        # Warm up.
        for i in range(20):
            await client.execute_workflow(YourWorkflow.run, "World", id=f"warm-{run}-{i}", task_queue=queue)

        times = []
        for i in range(args.latency):
            started = time.perf_counter()
            await client.execute_workflow(YourWorkflow.run, "World", id=f"lat-{run}-{i}", task_queue=queue)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p99 = times[min(len(times) - 1, round((len(times) - 1) * 0.99))]
        print(f"latency {statistics.median(times):.3f} {p99:.3f}", flush=True)

        slots = asyncio.Semaphore(args.in_flight)

        async def one(wf, arg, wid):
            async with slots:
                await client.execute_workflow(wf, arg, id=wid, task_queue=queue)

        started = time.perf_counter()
        await asyncio.gather(*(one(YourWorkflow.run, "World", f"tp-{run}-{i}") for i in range(args.throughput)))
        print(f"throughput {args.throughput / (time.perf_counter() - started):.3f}", flush=True)

        started = time.perf_counter()
        await asyncio.gather(*(one(TenSteps.run, 10, f"act-{run}-{i}") for i in range(args.activities)))
        print(f"activities {args.activities * 10 / (time.perf_counter() - started):.3f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
