"""The seed's LRUCache in CPython, timed on the access pattern of the Rust bench.

Usage: python3 lru_bench.py WORKLOAD.json
The workload (written by cache-bench) holds the keys, the values of each size,
the access pattern (indices into the keys), and the warm-up and repetition counts.
Prints one JSON object: median nanoseconds per operation for each measurement.
"""

import json
import os
import statistics
import sys
import time


# The seed's class, from the one copy of the seed's code beside this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_cache_service import LRUCache  # noqa: E402


def timed(fn, warmup, reps, ops):
    """Median ns per operation of `fn` (which performs `ops` operations)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / ops)
    return statistics.median(samples)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        work = json.load(f)
    keys = work["keys"]
    pattern = work["pattern"]
    warmup, reps = work["warmup"], work["reps"]
    seq = [keys[i] for i in pattern]
    result = {"python": sys.version.split()[0]}
    for size, texts in work["values"].items():
        # The seed caches Python objects (dicts), not JSON text: parse once, up front.
        values = [json.loads(t) for t in texts]
        cache = LRUCache(maxSize=len(keys))
        for k, v in zip(keys, values):
            cache.set(k, v)
        pairs = [(keys[i], values[i]) for i in pattern]
        get = cache.get
        put = cache.set

        def run_get():
            for k in seq:
                get(k)

        def run_set():
            for k, v in pairs:
                put(k, v)

        assert get(seq[0]) is not None
        result["get" + size] = timed(run_get, warmup, reps, len(seq))
        result["set" + size] = timed(run_set, warmup, reps, len(seq))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
