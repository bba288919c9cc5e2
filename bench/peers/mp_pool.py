"""CPython's multiprocessing.Pool (fork context) on the mp-pool benchmark's workloads.

Usage: python3 mp_pool.py PROCESSES POOLS MAP_ITEMS IMAP_ITEMS APPLY_TASKS
Prints one line per measurement: name value unit.

- start: fresh Pool to the first apply's result, median of POOLS pools
  (after one untimed pool)
- map: map(inc, range(MAP_ITEMS)) with the default chunksize, per item
- imap_unordered: imap_unordered(inc, range(IMAP_ITEMS), chunksize=1), per item
- apply_async: APPLY_TASKS apply_async, then every get, per task
Each of the last three is the median of 3 runs on one warm pool.
"""
import multiprocessing
import sys
import time

CTX = multiprocessing.get_context("fork")
REPEATS = 3


def inc(x):
    return x + 1


def median(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2]


def start_to_first_apply(processes, pools):
    samples = []
    for i in range(pools + 1):
        t0 = time.perf_counter()
        pool = CTX.Pool(processes)
        assert pool.apply(inc, (1,)) == 2
        elapsed = time.perf_counter() - t0
        pool.terminate()
        pool.join()
        if i > 0:
            samples.append(elapsed)
    return median(samples)


def timed(run, n):
    samples = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t0)
    return median(samples) / n * 1e6


def main():
    processes, pools, map_items, imap_items, apply_tasks = (int(a) for a in sys.argv[1:6])
    print("start", start_to_first_apply(processes, pools) * 1e3, "ms")
    with CTX.Pool(processes) as pool:
        pool.map(inc, range(1000))  # warm up, as the Rust side does

        def run_map():
            assert sum(pool.map(inc, range(map_items))) == map_items * (map_items + 1) // 2

        def run_imap():
            total = sum(pool.imap_unordered(inc, range(imap_items), chunksize=1))
            assert total == imap_items * (imap_items + 1) // 2

        def run_apply():
            jobs = [pool.apply_async(inc, (i,)) for i in range(apply_tasks)]
            assert sum(j.get() for j in jobs) == apply_tasks * (apply_tasks + 1) // 2

        print("map", timed(run_map, map_items), "us")
        print("imap_unordered", timed(run_imap, imap_items), "us")
        print("apply_async", timed(run_apply, apply_tasks), "us")


if __name__ == "__main__":
    main()
