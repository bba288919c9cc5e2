"""CPython's ProcessPoolExecutor on the proc-exec benchmark's workloads.

Usage: python3 ppe.py WORKERS POOLS ONE_AT_A_TIME BATCH ECHO_ROUNDS ECHO_BYTES
Prints one line per measurement: name value unit.

- start, start_forkserver, start_spawn: fresh pool to first result with the
  fork, forkserver and spawn contexts, median of POOLS pools each (after one
  untimed pool, which for forkserver also starts the process-wide server);
  the contexts take turns, pool by pool, so drift is shared

The rest uses the fork context:

- single_p50, single_p99: submit(inc, i).result() on a warm pool
- batch: BATCH submits, then every result gathered, per task (median of 3)
- crash: on a warm pool (one result in), submit a task calling os._exit(1);
  time until future.exception() returns BrokenProcessPool; median of POOLS pools
- echo: ECHO_ROUNDS round trips of ECHO_BYTES bytes, one at a time, the result
  passed back as the next argument; MiB/s counting both directions
"""
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

CTX = multiprocessing.get_context("fork")
# The start figures' contexts, and the name each one's figure is printed as.
STARTS = (("fork", "start"), ("forkserver", "start_forkserver"), ("spawn", "start_spawn"))
BATCH_REPEATS = 3  # as the Rust side: the median batch is reported


def inc(x):
    return x + 1


def echo(data):
    return data


def die(_):
    os._exit(1)


def median(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2]


def start_once(workers, context):
    t0 = time.perf_counter()
    pool = ProcessPoolExecutor(workers, mp_context=context)
    assert pool.submit(inc, 1).result() == 2
    elapsed = time.perf_counter() - t0
    pool.shutdown(wait=True)
    return elapsed


def start_to_first_result(workers, pools):
    contexts = [multiprocessing.get_context(method) for method, _ in STARTS]
    samples = [[] for _ in STARTS]
    for i in range(pools + 1):
        for context, kept in zip(contexts, samples):
            elapsed = start_once(workers, context)
            if i > 0:
                kept.append(elapsed)
    return [(name, median(kept)) for (_, name), kept in zip(STARTS, samples)]


def crash_to_error(workers, pools):
    samples = []
    for i in range(pools + 1):
        pool = ProcessPoolExecutor(workers, mp_context=CTX)
        pool.submit(inc, 1).result()
        t0 = time.perf_counter()
        error = pool.submit(die, 0).exception()
        elapsed = time.perf_counter() - t0
        assert isinstance(error, BrokenProcessPool), error
        pool.shutdown(wait=True)
        if i > 0:
            samples.append(elapsed)
    return median(samples)


def main():
    workers, pools, single, batch, echo_rounds, echo_bytes = (
        int(a) for a in sys.argv[1:7]
    )
    for name, seconds in start_to_first_result(workers, pools):
        print(name, seconds * 1e3, "ms")
    print("crash", crash_to_error(workers, pools) * 1e3, "ms")

    with ProcessPoolExecutor(workers, mp_context=CTX) as pool:
        for i in range(500):
            pool.submit(inc, i).result()  # warm up, as the Rust side does
        samples = []
        for i in range(single):
            t0 = time.perf_counter()
            assert pool.submit(inc, i).result() == i + 1
            samples.append(time.perf_counter() - t0)
        samples.sort()
        print("single_p50", samples[round((len(samples) - 1) * 0.50)] * 1e6, "us")
        print("single_p99", samples[round((len(samples) - 1) * 0.99)] * 1e6, "us")

        batches = []
        for _ in range(BATCH_REPEATS):
            t0 = time.perf_counter()
            futures = [pool.submit(inc, i) for i in range(batch)]
            total = sum(f.result() for f in futures)
            batches.append(time.perf_counter() - t0)
            assert total == batch * (batch + 1) // 2
        print("batch", median(batches) / batch * 1e6, "us")

        data = b"\xa5" * echo_bytes
        for _ in range(2):
            data = pool.submit(echo, data).result()
        t0 = time.perf_counter()
        for _ in range(echo_rounds):
            data = pool.submit(echo, data).result()
        elapsed = time.perf_counter() - t0
        assert data == b"\xa5" * echo_bytes
        print("echo", 2 * echo_rounds * echo_bytes / 2**20 / elapsed, "MiB/s")


if __name__ == "__main__":
    main()
