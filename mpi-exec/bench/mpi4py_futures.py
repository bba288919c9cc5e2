"""mpi4py.futures beside mpi-exec's examples/bench.rs (the same workloads,
fewer tasks where it is slow).

pip install mpi4py  # 4.1.2 measured
timeout -k 5 600 mpirun -n 3 python3 -m mpi4py.futures mpi-exec/bench/mpi4py_futures.py
"""
import statistics
import time

from mpi4py.futures import MPIPoolExecutor


def tiny(n):
    return n + 1


def count_primes(bounds):
    lo, hi = bounds
    count = 0
    for n in range(lo, hi):
        if n < 2:
            continue
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


def main():
    with MPIPoolExecutor() as pool:
        workers = pool.num_workers
        for n in range(50):
            pool.submit(tiny, n).result()
        samples = []
        for n in range(2000):
            started = time.perf_counter()
            pool.submit(tiny, n).result()
            samples.append(time.perf_counter() - started)
        tasks = 10_000
        started = time.perf_counter()
        futures = [pool.submit(tiny, n) for n in range(tasks)]
        for f in futures:
            f.result()
        many = (time.perf_counter() - started) / tasks
        items = 1_000_000
        started = time.perf_counter()
        total = sum(pool.map(tiny, range(items), chunksize=4096))
        assert total == items * (items + 1) // 2
        mapped = (time.perf_counter() - started) / items
        print(f"| mpi4py.futures, {workers} worker ranks | value |")
        print("| --- | --- |")
        print(f"| one task at a time, p50 | {statistics.median(samples) * 1e6:.1f} µs |")
        print(f"| {tasks} tiny tasks | {many * 1e6:.2f} µs/task |")
        print(f"| map 1M items, chunks of 4096 | {mapped * 1e6:.3f} µs/item |")


if __name__ == "__main__":
    main()
