"""Instructions per hot `getUserState` hit of the bench's state value (a dict holding
a dict and a list, `service_bench.state`), for callgrind: the package with a fresh
copy per hit (`copy`), the package with `shareValues("users")` (`shared`), and the
seed (`seed`). 1000 users, each read once before the N timed hits.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        target/py-venv/bin/python bench/python/hit_profile.py MODE N

Run each mode with N = 0 and N = 20000: (instructions at N - at 0) / N is the cost
of one call, the Python loop included (bench/ANALYSIS.md). Under valgrind the first
run of a package mode may compile the component (valgrind's CPU has other features,
hence another artifact): run it twice and keep the second.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gromozeka_cache  # noqa: E402
import seed_cache_service  # noqa: E402
from service_bench import USERS, state  # noqa: E402

mode, n = sys.argv[1], int(sys.argv[2])
if mode == "seed":
    cache = seed_cache_service.CacheService.getInstance()
elif mode in ("copy", "shared"):
    cache = gromozeka_cache.CacheService.getInstance()
    if mode == "shared":
        cache.shareValues("users")
else:
    sys.exit(f"unknown mode {mode!r}: copy, shared or seed")
for u in range(USERS):
    cache.setUserState(u, "step", state(u))
get = cache.getUserState
for u in range(USERS):
    get(u, "step")
ids = [i % USERS for i in range(n)]
for i in ids:
    get(i, "step")
