"""What a hit served from the host's copy costs, split into the hit itself and its
replay into the component (`sync`), per entry, warm and after other work.

    target/py-venv/bin/python bench/python/replay_cost.py TMPDIR

1000 chats' settings (`shareValues("chats")`), read once each per round. After each
round of hits, `getStats()` forces the replay of the 1000 pending entries; a second
`getStats()`, with nothing pending, is subtracted, so what remains is the replay.
"After other work": diskcache reads the same 1000 chats before each round, as in
`service_bench.py`'s rows, but before every round, so every round starts cold.
Prints the medians in ns per entry.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import diskcache  # noqa: E402

import gromozeka_cache  # noqa: E402
from service_bench import USERS, one_arg_loop, settings  # noqa: E402

ROUNDS, WARMUP = 60, 5


def main() -> None:
    tmp = Path(sys.argv[1])
    tmp.mkdir(parents=True, exist_ok=True)
    other = diskcache.Cache(str(tmp / "diskcache"))
    cache = gromozeka_cache.CacheService.getInstance()
    cache.injectDatabase(str(tmp / "gromozeka.db"))
    ids = list(range(USERS))
    for chat in ids:
        other.set(("settings", chat), settings(chat))
        cache.setChatSettings(chat, settings(chat))
        cache.getChatSettings(chat)
    cache.shareValues("chats")
    other_work = one_arg_loop(other.get, [("settings", chat) for chat in ids])
    hits = one_arg_loop(cache.getChatSettings, ids)
    for busy in (False, True):
        hit_ns, replay_ns = [], []
        for round_ in range(ROUNDS):
            if busy:
                other_work()
            t0 = time.perf_counter_ns()
            hits()
            t1 = time.perf_counter_ns()
            cache.getStats()
            t2 = time.perf_counter_ns()
            cache.getStats()
            t3 = time.perf_counter_ns()
            if round_ >= WARMUP:
                hit_ns.append((t1 - t0) / USERS)
                replay_ns.append(((t2 - t1) - (t3 - t2)) / USERS)
        label = "after other work" if busy else "warm"
        print(
            f"{label:16}: hit {statistics.median(hit_ns):6.1f} ns, "
            f"replay {statistics.median(replay_ns):6.1f} ns per entry"
        )
    cache.close()
    other.close()


if __name__ == "__main__":
    main()
