"""Instructions per hot `getUserState` hit, for callgrind: the bot's algorithm in
pure Python (`base`), the package's native method (`native`), the asyncio class's
method (`aio`), and the cheapest call through the cache's gate (`probe`).

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        target/py-venv/bin/python bench/python/aio_hit_profile.py MODE N

Run each mode with N = 0 and N = 20000: (instructions at N - at 0) / N is the cost
of one call (bench/ANALYSIS.md).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
mode, n = sys.argv[1], int(sys.argv[2])
from gromozeka_cache.aio import CacheService  # noqa: E402
from bot_baseline import BotBaselineCache  # noqa: E402
cache = CacheService.getInstance()
base = BotBaselineCache(None)
for u in range(1000):
    cache.setUserState(u, "step", {"page": u})
    base.setUserState(u, "step", {"page": u})
native = cache._native
ids = [i % 1000 for i in range(n)]
if mode == "aio":
    f = cache.getUserState
elif mode == "native":
    f = native.getUserState
elif mode == "base":
    f = base.getUserState
elif mode == "probe":
    f = None
for i in ids:
    if f is None:
        native._gil_probe(False)
    else:
        f(i, "step")
