"""The disk's fsync latency, as the comparison scripts print it first.

    python3 bench/fsync_probe.py DIR    # 200 fsyncs of 4 KiB appends to a file in DIR
"""
import os
import statistics
import sys
import time

path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
samples = []
for _ in range(200):
    os.write(fd, b"x" * 4096)
    started = time.perf_counter()
    os.fsync(fd)
    samples.append((time.perf_counter() - started) * 1000)
os.close(fd)
os.unlink(path)
samples.sort()
print(f"fsync latency (4 KiB append, 200 samples): median {statistics.median(samples):.3f} ms, p99 {samples[197]:.3f} ms")
