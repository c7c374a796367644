//! The asyncio rows: `gromozeka_cache.aio` against the bot's current algorithm in
//! pure Python (an `OrderedDict` LRU under an `RLock`, `async def` methods), over
//! one in-memory async database of the bot's shape, measured side by side by
//! `bench/python/async_bench.py`.

use std::path::Path;

use anyhow::Result;

use super::python::{figure, run_script};
use crate::report::{ns, Goal, Line, Report};

/// Runs the asyncio bench and adds its rows to `report`.
pub fn python_async(root: &Path, tmp: &Path, quick: bool, report: &mut Report) -> Result<()> {
    let v = run_script(root, "async_bench.py", tmp, quick)?;
    for (call, what) in [
        (
            "aioGetChatSettings",
            "`await getChatSettings` hit (10 settings, a new dict)",
        ),
        (
            "aioGetChatUserData",
            "`await getChatUserData` hit (3 items, a new dict)",
        ),
        (
            "getUserState",
            "`getUserState` hit (sync method of the asyncio class)",
        ),
        (
            "aioGetChatSettingsShared",
            "`await getChatSettings` hit, `shareValues(\"chats\")` (the cache's own dict, as the bot's)",
        ),
        (
            "aioGetChatUserDataShared",
            "`await getChatUserData` hit, `shareValues(\"chatUsers\")`",
        ),
    ] {
        let (pkg, base) = (
            figure(&v, call, "gromozeka_cache")?,
            figure(&v, call, "baseline")?,
        );
        report.lines.push(Line {
            row: "Py-aio",
            what: format!("{what}: package time ÷ the bot's algorithm in pure Python"),
            subject: format!("{} /call", ns(pkg)),
            baseline: format!("bot algorithm {}", ns(base)),
            value: pkg / base,
            unit: "×",
            // The goal for hot hits from Python: no slower than the bot's own cache.
            goal: Goal::AtMost(1.0),
        });
    }
    let (hit, hit_p99) = (
        figure(&v, "slowDbHit", "gromozeka_cache")?,
        figure(&v, "slowDbHit", "gromozeka_cache_p99")?,
    );
    let (base_hit, base_p99) = (
        figure(&v, "slowDbHit", "baseline")?,
        figure(&v, "slowDbHit", "baseline_p99")?,
    );
    report.lines.push(Line {
        row: "Py-aio",
        what: "a hit while 100 coroutines wait on a 50 ms database: median latency".into(),
        subject: format!("{} median, p99 {}", ns(hit), ns(hit_p99)),
        baseline: format!(
            "bot algorithm {} median, p99 {}",
            ns(base_hit),
            ns(base_p99)
        ),
        value: hit / 1000.0,
        unit: "µs",
        goal: Goal::AtMost(50.0),
    });
    let (stall, base_stall) = (
        figure(&v, "loopStall", "gromozeka_cache")?,
        figure(&v, "loopStall", "baseline")?,
    );
    report.lines.push(Line {
        row: "Py-aio",
        what: "the event loop's longest stall during that run (a 1 ms sleep's overshoot): \
               under one 50 ms round-trip, so no round-trip blocked the loop; the rest is \
               handling the burst of 100 answers, as the baseline's own stall shows"
            .into(),
        subject: format!("{:.1} ms", stall / 1e6),
        baseline: format!("bot algorithm {:.1} ms", base_stall / 1e6),
        value: stall / 1e6,
        unit: "ms",
        goal: Goal::AtMost(50.0),
    });
    report.notes.push(
        "Rows Py-aio: `bench/python/async_bench.py`, one `asyncio.run`: the baseline is \
         `bench/python/bot_baseline.py`, the bot's June-2026 algorithm (an `OrderedDict` LRU under an \
         `RLock`, `async def` methods, the cached dict itself returned) written for the bench; both \
         over one in-memory async database of the bot's shape, warmed so that every timed call is a \
         hit (the slow run samples 16 users kept recent, and warns if one was a miss); interleaved \
         rounds, median. The package returns a new dict per hit (with `shareValues`, its own one); the \
         baseline returns its cached one."
            .into(),
    );
    Ok(())
}
