"""CPython's ProcessPoolExecutor.map and multiprocessing.Pool.map (fork
context) on the proc-exec map benchmark's workloads.

Usage: python3 maps.py WORKERS ITEMS PPE_DEFAULT_ITEMS CHUNKSIZE REPEATS PRIMES_BELOW CHUNKS
   or: python3 maps.py WORKERS ITEMS (the fresh-process row alone, see below)
Prints one line per measurement: name value unit.

Every map is over range(n) with inc, timed from the call until the last
result is in hand and summed; us per item, median of REPEATS maps on one warm
pool (the chunksize-1 ProcessPoolExecutor map runs once, over PPE_DEFAULT_ITEMS).

- ppe_map_default: ProcessPoolExecutor.map, chunksize 1 (its default)
- ppe_map_tuned: the same with CHUNKSIZE
- ppe_map_pool_default: the same with Pool.map's default chunksize for ITEMS
- pool_map_default: Pool.map, its default chunksize (ceil(ITEMS / (4 * WORKERS)))
- pool_map_tuned: Pool.map with CHUNKSIZE
- pool_imap_unordered: Pool.imap_unordered with CHUNKSIZE
- cpu_serial, cpu_pool1, cpu_pool2 (ms), cpu_speedup (pool1 / pool2, paired
  within a repeat): primes below PRIMES_BELOW by trial division, the range cut
  into CHUNKS equal chunks, Pool.map with chunksize 1

With two arguments, in this fresh process: Pool(WORKERS).map(inc,
range(ITEMS)) with its defaults, timed from the call until the sum is in hand
(fresh_pool_map, s), and this process's peak RSS, pool start included
(fresh_pool_map_rss, KiB).
"""
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor

CTX = multiprocessing.get_context("fork")


def inc(x):
    return x + 1


def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def count_primes(bounds):
    lo, hi = bounds
    return sum(1 for n in range(lo, hi) if is_prime(n))


def median(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2]


def per_item(n, run):
    t0 = time.perf_counter()
    total = sum(run())
    elapsed = time.perf_counter() - t0
    assert total == n * (n + 1) // 2, total
    return elapsed / n * 1e6


def fresh_map(workers, items):
    with CTX.Pool(workers) as pool:
        t0 = time.perf_counter()
        total = sum(pool.map(inc, range(items)))
        elapsed = time.perf_counter() - t0
    assert total == items * (items + 1) // 2, total
    print("fresh_pool_map", elapsed, "s")
    # ru_maxrss is in KiB on Linux.
    print("fresh_pool_map_rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "KiB")


def main():
    if len(sys.argv) == 3:
        fresh_map(int(sys.argv[1]), int(sys.argv[2]))
        return
    workers, items, ppe_items, chunksize, repeats, below, chunks = (
        int(a) for a in sys.argv[1:8]
    )
    pool_chunks = -(-items // (4 * workers))

    with ProcessPoolExecutor(workers, mp_context=CTX) as pool:
        assert sum(pool.map(inc, range(1000), chunksize=10)) == 1000 * 1001 // 2
        default = per_item(ppe_items, lambda: pool.map(inc, range(ppe_items)))
        tuned, big = [], []
        for _ in range(repeats):
            tuned.append(
                per_item(items, lambda: pool.map(inc, range(items), chunksize=chunksize))
            )
            big.append(
                per_item(items, lambda: pool.map(inc, range(items), chunksize=pool_chunks))
            )
        print("ppe_map_default", default, "us")
        print("ppe_map_tuned", median(tuned), "us")
        print("ppe_map_pool_default", median(big), "us")

    with CTX.Pool(workers) as pool:
        assert sum(pool.map(inc, range(1000))) == 1000 * 1001 // 2
        default, tuned, unordered = [], [], []
        for _ in range(repeats):
            default.append(per_item(items, lambda: pool.map(inc, range(items))))
            tuned.append(
                per_item(items, lambda: pool.map(inc, range(items), chunksize=chunksize))
            )
            unordered.append(
                per_item(
                    items,
                    lambda: pool.imap_unordered(inc, range(items), chunksize=chunksize),
                )
            )
        print("pool_map_default", median(default), "us")
        print("pool_map_tuned", median(tuned), "us")
        print("pool_imap_unordered", median(unordered), "us")

    bounds = [(below * i // chunks, below * (i + 1) // chunks) for i in range(chunks)]
    with CTX.Pool(1) as one, CTX.Pool(workers) as two:
        one.map(inc, range(10))
        two.map(inc, range(10))
        serial, pool1, pool2, speedup = [], [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            expected = sum(map(count_primes, bounds))
            serial.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert sum(one.map(count_primes, bounds, chunksize=1)) == expected
            a = time.perf_counter() - t0
            t0 = time.perf_counter()
            assert sum(two.map(count_primes, bounds, chunksize=1)) == expected
            b = time.perf_counter() - t0
            pool1.append(a)
            pool2.append(b)
            speedup.append(a / b)
        print("cpu_serial", median(serial) * 1e3, "ms")
        print("cpu_pool1", median(pool1) * 1e3, "ms")
        print("cpu_pool2", median(pool2) * 1e3, "ms")
        print("cpu_speedup", median(speedup), "x")


if __name__ == "__main__":
    main()
