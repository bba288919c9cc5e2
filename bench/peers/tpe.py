"""CPython's ThreadPoolExecutor on the thread-exec benchmark's workloads.

Usage: python3 tpe.py WORKERS ONE_AT_A_TIME BATCH BATCH_ROUNDS MAP_ITEMS
Prints one line per measurement: name value unit. The batch is the median
of BATCH_ROUNDS rounds.
"""
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def inc(x):
    return x + 1


def main():
    workers, single, batch, rounds, items = (int(a) for a in sys.argv[1:6])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pool.submit(inc, 0).result()  # start the workers
        samples = []
        for i in range(single):
            t0 = time.perf_counter()
            pool.submit(inc, i).result()
            samples.append(time.perf_counter() - t0)
        samples.sort()
        print("single_p50", samples[len(samples) // 2] * 1e6, "us")
        print("single_p99", samples[int(len(samples) * 0.99)] * 1e6, "us")

        rounds_taken = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            futures = [pool.submit(inc, i) for i in range(batch)]
            for f in futures:
                f.result()
            rounds_taken.append(time.perf_counter() - t0)
        rounds_taken.sort()
        median = rounds_taken[len(rounds_taken) // 2]
        print("batch", median / batch * 1e6, "us")

        t0 = time.perf_counter()
        for _ in pool.map(inc, range(items)):
            pass
        print("map", (time.perf_counter() - t0) / items * 1e6, "us")


main()
