"""Hot hits from Python, timed for an A/B between two builds of the package (run it
with each wheel installed in turn): the bench's state value and ten settings for
1000 users and chats, then 400 rounds of 1000 hits of each call, with fresh copies
and with `shareValues`. Prints, per call, the minimum, first quartile and median
ns per hit over the rounds; the minimum is the figure least moved by other load.

    target/py-venv/bin/python bench/python/hit_ab.py

Not a `just bench` row: the bench's rows interleave the seed in the same rounds,
which is what its ratios need. This script only compares builds of the package.
"""

import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gromozeka_cache  # noqa: E402
from service_bench import USERS, settings, state  # noqa: E402

ROUNDS = 400


def per_hit(call: Callable[[], None]) -> tuple[float, float, float]:
    """(min, first quartile, median) ns per hit over the rounds of `call`."""
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - start) / USERS)
    times.sort()
    return times[0], times[len(times) // 4], times[len(times) // 2]


def main() -> None:
    cache = gromozeka_cache.CacheService.getInstance()
    ids = list(range(USERS))
    for u in ids:
        cache.setUserState(u, "step", state(u))
        cache.setChatSettings(u, settings(u))
        cache.getChatSettings(u)
    get_state, get_settings = cache.getUserState, cache.getChatSettings

    def states() -> None:
        for i in ids:
            get_state(i, "step")

    def chats() -> None:
        for i in ids:
            get_settings(i)

    out: dict[str, Any] = {}
    for share in (False, True):
        cache.shareValues("users", share)
        cache.shareValues("chats", share)
        suffix = " shared" if share else ""
        out["getUserState" + suffix] = per_hit(states)
        out["getChatSettings" + suffix] = per_hit(chats)
    cache.close()
    for name, (low, quartile, median) in out.items():
        print(f"{name:24} min {low:6.1f}  q1 {quartile:6.1f}  median {median:6.1f} ns")


if __name__ == "__main__":
    main()
