"""The seed's LRUCache in CPython, timed on the access pattern of the Rust bench.

Usage: python3 lru_bench.py WORKLOAD.json
The workload (written by cache-bench) holds the keys, the values of each size,
the access pattern (indices into the keys), and the warm-up and repetition counts.
Prints one JSON object: median nanoseconds per operation for each measurement.
"""

import json
import statistics
import sys
import time
from collections import OrderedDict
from threading import RLock
from typing import Any


# ---- copied verbatim from /work/shared/seed/cache-service-design-v2.md ----
class LRUCache(OrderedDict):
    """Simple LRU cache implementation"""
    def __init__(self, maxSize: int = 1000):
        super().__init__()
        self.maxSize = maxSize
        self.lock = RLock()
    
    def get(self, key: Any, default: Any = None) -> Any:
        with self.lock:
            if key not in self:
                return default
            # Move to end (most recently used)
            self.move_to_end(key)
            return self[key]
    
    def set(self, key: Any, value: Any) -> None:
        with self.lock:
            if key in self:
                # Update and move to end
                self.move_to_end(key)
            self[key] = value
            # Evict oldest if over capacity
            if len(self) > self.maxSize:
                self.popitem(last=False)
    
    def delete(self, key: Any) -> bool:
        with self.lock:
            if key in self:
                del self[key]
                return True
            return False
# ---- end of the seed's code ----


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
