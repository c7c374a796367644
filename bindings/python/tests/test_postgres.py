"""``injectDatabase("postgresql://…")``: the Rust host's PostgreSQL storage under the
Python package, on a real server.

The server's URL comes from ``GROMOZEKA_TEST_PG_URL`` (``eval "$(scripts/postgres
start)"`` or ``just postgres start`` prints it). Without it the tests are skipped
locally and **fail** under ``CI=true``, as host/tests/postgres.rs does. Each test
works in a schema of its own (``search_path`` in the URL), created and dropped with
``psql``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gromozeka_cache import CacheService, StorageError


def server_url() -> str:
    url = os.environ.get("GROMOZEKA_TEST_PG_URL", "")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("GROMOZEKA_TEST_PG_URL is not set under CI: .ci/run must start PostgreSQL")
    pytest.skip('no PostgreSQL server: run `eval "$(scripts/postgres start)"` first')


def psql_binary() -> str:
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    if not candidates:
        pytest.fail("psql is missing although a PostgreSQL server is configured")
    return str(candidates[-1])


def psql(url: str, sql: str) -> str:
    out = subprocess.run(
        [psql_binary(), url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, capture_output=True, text=True, timeout=60,
    )
    return out.stdout.strip()


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """(server URL, schema) of a fresh schema, dropped afterwards."""
    url = server_url()
    schema = f"t_py_{os.getpid()}"
    psql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    CacheService.resetInstance()
    yield url, schema
    CacheService.resetInstance()
    psql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def with_schema(url: str, schema: str, scheme: str) -> str:
    """The server URL with the given scheme and ``search_path`` set to ``schema``."""
    rest = url.split("://", 1)[1]
    sep = "&" if "?" in rest else "?"
    return f"{scheme}://{rest}{sep}options=-c%20search_path%3D{schema}"


def test_a_postgresql_url_is_the_storage_and_survives_a_restart(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    cache = CacheService.getInstance()
    report = cache.injectDatabase(with_schema(url, schema, "postgresql"))
    assert report == {"loaded": 0, "skipped": []}
    cache.chatUsers["1:2"] = {"n": 1}  # on-change: written before this returns
    cache.setChatInfo(-100, {"title": "t"})  # on-shutdown: written by close()
    cache.setChatSettings(-100, {"lang": "en"})
    cache.setUserData(-100, 7, "karma", 3)
    assert psql(url, f"SELECT count(*) FROM {schema}.cache_storage") == "1", "only the on-change row so far"
    CacheService.resetInstance()  # closes: persists the on-shutdown change

    assert psql(url, f"SELECT count(*) FROM {schema}.cache_storage") == "2"
    assert psql(url, f"SELECT value FROM {schema}.chat_settings WHERE chat_id = -100 AND key = 'lang'") == "en"

    # Reopened through the other scheme: everything acknowledged is there.
    cache = CacheService.getInstance()
    report = cache.injectDatabase(with_schema(url, schema, "postgres"))
    assert report["loaded"] == 2
    assert cache.chatUsers["1:2"] == {"n": 1}
    assert cache.getChatInfo(-100) == {"title": "t"}
    assert cache.getChatSettings(-100) == {"lang": "en"}
    assert cache.getUserData(-100, 7) == {"karma": 3}


def test_an_unreachable_server_is_a_storage_error(pg_schema: tuple[str, str]) -> None:
    cache = CacheService.getInstance()
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    with pytest.raises(StorageError) as raised:
        cache.injectDatabase("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=5")
    assert raised.value.kind is not None
    cache.users.set(1, {"still": "usable"})  # the failed attach left the cache working
    assert cache.users.get(1) == {"still": "usable"}



def test_a_server_that_accepts_and_never_answers_is_a_storage_error_within_connect_timeout() -> None:
    import socket

    CacheService.resetInstance()
    cache = CacheService.getInstance()
    # A listening socket nobody reads: the kernel accepts, nothing ever answers.
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)
        port = hole.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(StorageError) as raised:
            cache.injectDatabase(f"postgresql://cache@127.0.0.1:{port}/bot?connect_timeout=1")
        assert time.monotonic() - started < 10
    assert raised.value.kind == "unavailable"
    assert "no answer within 1s" in str(raised.value)
    cache.users.set(1, {"still": "usable"})
    assert cache.users.get(1) == {"still": "usable"}
    CacheService.resetInstance()


# A second bot process: changes what the test process has cached, then exits
# (closing, so its on-shutdown writes are persisted too).
OTHER_PROCESS = """
import sys
from gromozeka_cache import CacheService
cache = CacheService.getInstance()
cache.injectDatabase(sys.argv[1])
cache.chatUsers["1:2"] = {"v": 2}
cache.setChatSettings(-100, {"lang": "de"})
cache.setUserData(-100, 7, "karma", 5)
cache.setChatInfo(-100, {"title": "B"})
cache.close()
"""


def test_another_process_s_changes_reach_this_cache(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    db = with_schema(url, schema, "postgresql")
    cache = CacheService.getInstance()
    cache.injectDatabase(db)
    cache.chatUsers["1:2"] = {"v": 1}
    assert cache.getChatSettings(-100) == {}  # cached copies of what the other process changes
    assert cache.getUserData(-100, 7) == {}

    subprocess.run([sys.executable, "-c", OTHER_PROCESS, db], check=True, timeout=120)

    want = ({"v": 2}, {"lang": "de"}, {"karma": 5})
    deadline = time.monotonic() + 10
    seen = None
    while time.monotonic() < deadline:
        seen = (cache.chatUsers["1:2"], cache.getChatSettings(-100), cache.getUserData(-100, 7))
        if seen == want:
            break
        time.sleep(0.05)
    assert seen == want, "this process kept stale copies of another process's changes"


def test_a_replaced_database_s_changes_no_longer_apply(pg_schema: tuple[str, str], tmp_path: Path) -> None:
    url, schema = pg_schema
    db = with_schema(url, schema, "postgresql")
    cache = CacheService.getInstance()
    cache.injectDatabase(db)
    cache.injectDatabase(str(tmp_path / "bot.sqlite"))
    cache.setWriteBack(None, None)
    cache.setChatInfo(-100, {"title": "A"})  # pending: held only in this cache

    subprocess.run([sys.executable, "-c", OTHER_PROCESS, db], check=True, timeout=120)
    assert psql(url, f"SELECT count(*) FROM {schema}.cache_storage WHERE key = '-100'") == "1"
    time.sleep(1.0)  # a listener still running would have dropped the copy within milliseconds
    assert cache.getChatInfo(-100) == {"title": "A"}


def test_the_asyncio_api_over_a_postgresql_url(pg_schema: tuple[str, str]) -> None:
    import asyncio

    from gromozeka_cache.aio import CacheService as AsyncCacheService

    url, schema = pg_schema
    AsyncCacheService._instance = None

    async def write() -> None:
        cache = AsyncCacheService.getInstance()
        await cache.injectDatabase(with_schema(url, schema, "postgresql"))
        await cache.setChatSetting(-100, "lang", "en", userId=1)
        await cache.setChatUserData(-100, 7, "karma", 3)
        cache.setUserState(7, "step", "menu")  # users: persisted on shutdown
        await cache.aclose()

    asyncio.run(write())
    assert psql(url, f"SELECT value FROM {schema}.chat_settings WHERE chat_id = -100 AND key = 'lang'") == "en"
    assert psql(url, f"SELECT count(*) FROM {schema}.cache_storage WHERE namespace = 'users'") == "1"

    AsyncCacheService._instance = None

    async def read() -> None:
        cache = AsyncCacheService.getInstance()
        await cache.injectDatabase(with_schema(url, schema, "postgres"))
        assert await cache.getChatSettings(-100) == {"lang": "en"}
        assert await cache.getChatUserData(-100, 7) == {"karma": 3}
        assert cache.getUserState(7, "step") == "menu"
        await cache.aclose()

    asyncio.run(read())
    AsyncCacheService._instance = None
