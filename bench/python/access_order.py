"""Hot `getUserState` hits against the seed's, with users read in id order (as
`service_bench.py` reads them) and in a fixed shuffled order, each warm and after
other work (diskcache's SQLite reads in the same rounds), with fresh copies and
with `shareValues("users")`. Prints one line per case: package ÷ seed, then the
ns per call of each.

    target/py-venv/bin/python bench/python/access_order.py TMPDIR

Why: the seed keeps users in a dict keyed by int, whose slots for ids 0..999 lie
in id order, so reading users in id order walks its memory in order and the CPU
prefetches it; a bot's users arrive in no such order. Not a `just bench` row (the
rows keep their order, to stay comparable with earlier runs).
"""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import diskcache  # noqa: E402
import gromozeka_cache  # noqa: E402
import seed_cache_service  # noqa: E402
from service_bench import USERS, get_state_loop, one_arg_loop, side_by_side, state  # noqa: E402


def main() -> None:
    tmp = Path(sys.argv[1])
    seed = seed_cache_service.CacheService.getInstance()
    other = diskcache.Cache(str(tmp / "diskcache"))
    cache = gromozeka_cache.CacheService.getInstance()
    for u in range(USERS):
        value = state(u)
        seed.setUserState(u, "step", value)
        cache.setUserState(u, "step", value)
        other.set((u, "step"), value)
    in_order = list(range(USERS))
    shuffled = in_order[:]
    random.Random(1).shuffle(shuffled)
    for order, ids in (("id order", in_order), ("shuffled", shuffled)):
        for share in (False, True):
            cache.shareValues("users", share)
            for busy in (False, True):
                loops = {
                    "seed": get_state_loop(seed.getUserState, ids),
                    "package": get_state_loop(cache.getUserState, ids),
                }
                if busy:
                    loops["diskcache"] = one_arg_loop(other.get, [(i, "step") for i in ids])
                ns = side_by_side(loops, USERS, 3, 21)
                print(
                    f"{order:8} {'shared' if share else 'copy':6} {'after other work' if busy else 'warm':16}"
                    f" {ns['package'] / ns['seed']:.2f}x  package {ns['package']:.0f} ns  seed {ns['seed']:.0f} ns"
                )
    cache.close()
    other.close()


if __name__ == "__main__":
    main()
