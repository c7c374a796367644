"""The conformance scenarios (conformance/scenarios.json, format 2) through the Python
package: each scenario on a fresh ``NativeCache`` (the package's native class: its
gate, GIL release, error classes) over a recording database object with the seed's
method names, which is also the scenario's mock storage (conformance/README.md).

How the scenario file maps onto the package:

- Calls go through ``NativeCache._wit_call(name, args)``: the same service, storage
  and error mapping as the public methods, with JSON *text* in and out, because the
  scenarios pass text that is deliberately not JSON (``"not json"``), which the public
  methods (Python objects in) cannot express. The public methods' Python <-> JSON
  conversion is tested in test_api.py.
- ``ok`` / ``err`` / ``err_contains`` / ``err_kind`` / ``outcome``: checked in full.
  ``err`` is the class of the exception raised (``InvalidJsonError`` is
  ``invalid-json``, ...); a trap (``ComponentTrapError``) fails the scenario.
- ``mock`` steps (``fail-writes``, ``fail-reads``, ``heal``, ``expect-storage``):
  implemented in full by the recording object; a failing method raises
  ``gromozeka_cache.StorageError`` with the rule's ``kind``, which the package keeps.
- ``storage_calls`` / ``storage_calls_include``: the database object sees the seed's
  methods, not the WIT storage interface, so the recorded object calls are mapped
  back (``RecordingDatabase.observed``) and compared with these limits:

  * bot storage (``get-chat-settings``, ``get-user-data``, ``set-user-data``,
    ``write-chat-settings``): compared exactly, as in every host. A
    ``write-chat-settings`` is seen as ``clearChatSettings`` (``rewrite``), a run of
    ``setChatSetting`` (``merge`` pairs) or ``unsetChatSetting`` (``unset``); a
    ``merge`` of no pairs makes no object call and is not observable.
  * row ``write`` batches: compared by what they change, the multiset of
    ``setCacheStorage`` (upserts) and ``unsetCacheStorage`` (deletes) calls; a
    ``clear`` of a namespace is seen as the deletes of the rows the object held in it.
  * row reads (``load``, ``get``) are **not observable one by one**: the seed's
    protocol has a single whole-table read, ``getCacheStorage()``, which the package
    also calls before a multi-row write (to undo it on failure) and for a clear. So
    the ``fn``, ``namespace``, ``key`` and ``limit`` of an expected read are not
    checked; what is checked is that ``storage_calls: []`` means no object call at
    all (reads included), and that a step expecting a read made one.
  * after an object call raised (a ``fail-*`` rule), the package's best-effort undo
    of a multi-row write follows; calls after the first failure are not compared, and
    the last group (the one that failed) need only be part of the expected one.
  * so what is not checked: which read (``load`` vs ``get``), its arguments, and how
    many reads a step made when it expected at least one. Mutation check (dropping or
    duplicating the last expected storage call of each step): 86 of 106 mutations
    fail the run; the 20 that pass all change only the number of reads.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gromozeka_cache import (
    CacheError,
    ComponentTrapError,
    InvalidConfigError,
    InvalidKeyError,
    InvalidJsonError,
    StorageError,
    TooLargeError,
    UnknownNamespaceError,
)
from gromozeka_cache._aio_support import KeyLocks, staged_call
from gromozeka_cache._bridge import AsyncDatabaseBridge
from gromozeka_cache._native import NativeCache
from gromozeka_cache._paths import packaged_component

SCENARIOS_FILE = Path(__file__).resolve().parents[3] / "conformance" / "scenarios.json"
DOC = json.loads(SCENARIOS_FILE.read_text())
SCENARIOS = DOC["scenarios"]
#: How many scenarios the file holds; the count test below fails if any was not run.
EXPECTED_SCENARIOS = 35

SCENARIO_KEYS = {"name", "covers", "description", "configure", "storage", "steps"}
CALL_KEYS = {"call", "args", "ok", "err", "err_contains", "err_kind", "outcome", "storage_calls",
             "storage_calls_include", "note"}
MOCK_KEYS = {"mock", "message", "kind", "times", "fns", "rows", "chat_settings", "user_data", "note"}
ERROR_CASES = {
    UnknownNamespaceError: "unknown-namespace",
    InvalidJsonError: "invalid-json",
    InvalidConfigError: "invalid-config",
    TooLargeError: "too-large",
    InvalidKeyError: "invalid-key",
    StorageError: "storage",
}
# The object methods behind each WIT storage function (for fail-* rules).
OBJECT_FNS = {
    "getCacheStorage": ("load", "get"),
    "setCacheStorage": ("write",),
    "unsetCacheStorage": ("write",),
    "getChatSettings": ("get-chat-settings",),
    "setChatSetting": ("write-chat-settings",),
    "clearChatSettings": ("write-chat-settings",),
    "unsetChatSetting": ("write-chat-settings",),
    "getUserData": ("get-user-data",),
    "addUserData": ("set-user-data",),
}
# Scenarios run, by name: checked by test_every_scenario_ran.
RAN: list[str] = []


def gen(spec: Any) -> str:
    """A generated string (conformance/README.md) or a plain one."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and "repeat" in spec:
        return gen(spec["repeat"]) * spec["times"]
    if isinstance(spec, dict) and "concat" in spec:
        return "".join(gen(p) for p in spec["concat"])
    raise AssertionError(f"not a string or generated string: {spec!r}")


def gen_args(value: Any) -> Any:
    """Arguments with generated strings expanded; s64 values may stay decimal strings
    (the host converts by the WIT types)."""
    if isinstance(value, dict) and ("repeat" in value or "concat" in value):
        return gen(value)
    if isinstance(value, dict):
        return {k: gen_args(v) for k, v in value.items()}
    if isinstance(value, list):
        return [gen_args(v) for v in value]
    return value


def as_int(value: Any) -> int:
    return int(value)


def same_json(a: Any, b: Any) -> bool:
    """Structural equality of parsed JSON, with ``true`` never equal to ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return type(a) in (int, float) and type(b) in (int, float) and a == b or (type(a) is type(b) and a == b)


def json_equal(expected: str, actual: str) -> bool:
    """JSON-equal texts (plain equality if either is not JSON)."""
    try:
        return same_json(json.loads(expected), json.loads(actual))
    except ValueError:
        return expected == actual


def multiset_equal(expected: list[Any], actual: list[Any], eq: Any) -> bool:
    if len(expected) != len(actual):
        return False
    remaining = list(actual)
    for e in expected:
        for i, a in enumerate(remaining):
            if eq(e, a):
                del remaining[i]
                break
        else:
            return False
    return True


class RecordingDatabase:
    """The bot's database object (the seed's and the bot's later method names) as the
    scenarios' mock storage: rows with a write sequence, chat settings, user data,
    failure rules, and a log of every method called (failed ones included)."""

    def __init__(self, storage: dict[str, Any]) -> None:
        self.rows: dict[tuple[str, str], tuple[int, Any]] = {}
        self.seq = 0
        self.settings: dict[tuple[int, str], str] = {}
        self.user_data: dict[tuple[int, int, str], str] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.log: list[dict[str, Any]] = []
        for row in storage.get("rows", []):
            value = row["value"] if "value" in row else b"\x00unreadable"  # a BLOB cell
            self._put(row["namespace"], row["key"], value)
        for s in storage.get("chat_settings", []):
            self.settings[(as_int(s["chat_id"]), s["key"])] = s["value"]
        for d in storage.get("user_data", []):
            self.user_data[(as_int(d["chat_id"]), as_int(d["user_id"]), d["key"])] = d["data"]

    def _put(self, namespace: str, key: str, value: Any) -> None:
        self.seq += 1
        self.rows[(namespace, key)] = (self.seq, value)

    def _enter(self, method: str, **args: Any) -> None:
        entry = {"method": method, **args, "failed": False}
        self.log.append(entry)
        kind = "reads" if method.startswith("get") else "writes"
        rule = self.rules.get(kind)
        if rule is None:
            return
        fns = rule.get("fns")
        if fns is not None and not set(OBJECT_FNS[method]) & set(fns):
            return
        if rule.get("times") is not None:
            if rule["times"] <= 0:
                return
            rule["times"] -= 1
        entry["failed"] = True
        error = StorageError(rule["message"])
        error.kind = rule.get("kind", "other")
        raise error

    # --- the seed's methods ---
    def getCacheStorage(self) -> list[dict[str, Any]]:
        self._enter("getCacheStorage")
        ordered = sorted(self.rows.items(), key=lambda item: item[1][0])
        return [{"namespace": ns, "key": key, "value": value} for (ns, key), (_, value) in ordered]

    def setCacheStorage(self, namespace: str, key: str, value: str) -> None:
        self._enter("setCacheStorage", namespace=namespace, key=key, value=value)
        self._put(namespace, key, value)

    def getChatSettings(self, chatId: int) -> dict[str, str]:
        self._enter("getChatSettings", chat=chatId)
        return {k: v for (c, k), v in sorted(self.settings.items()) if c == chatId}

    def setChatSetting(self, chatId: int, key: str, value: str) -> None:
        self._enter("setChatSetting", chat=chatId, key=key, value=value)
        self.settings[(chatId, key)] = value

    def getUserData(self, userId: int, chatId: int) -> dict[str, str]:
        self._enter("getUserData", chat=chatId, user=userId)
        return {k: v for (c, u, k), v in sorted(self.user_data.items()) if c == chatId and u == userId}

    def addUserData(self, userId: int, chatId: int, key: str, data: str) -> None:
        self._enter("addUserData", chat=chatId, user=userId, key=key, value=data)
        self.user_data[(chatId, userId, key)] = data

    # --- the bot's later methods ---
    def unsetCacheStorage(self, namespace: str, key: str) -> None:
        self._enter("unsetCacheStorage", namespace=namespace, key=key)
        self.rows.pop((namespace, key), None)

    def clearChatSettings(self, chatId: int) -> None:
        self._enter("clearChatSettings", chat=chatId)
        for k in [k for k in self.settings if k[0] == chatId]:
            del self.settings[k]

    def unsetChatSetting(self, chatId: int, key: str) -> None:
        self._enter("unsetChatSetting", chat=chatId, key=key)
        self.settings.pop((chatId, key), None)

    # --- what the runner reads ---
    def readable_rows(self) -> list[dict[str, str]]:
        return [{"namespace": ns, "key": k, "value": v} for (ns, k), (_, v) in self.rows.items()
                if isinstance(v, str)]

    def observed(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Object calls as storage calls: bot calls in WIT form, consecutive row
        mutations as one ``row-writes`` group, each whole-table read as ``read-rows``."""
        out: list[dict[str, Any]] = []
        for e in entries:
            m = e["method"]
            if m == "getCacheStorage":
                out.append({"fn": "read-rows"})
            elif m in ("setCacheStorage", "unsetCacheStorage"):
                if not out or out[-1]["fn"] != "row-writes":
                    out.append({"fn": "row-writes", "upsert": [], "delete": []})
                if m == "setCacheStorage":
                    out[-1]["upsert"].append((e["namespace"], e["key"], e["value"]))
                else:
                    out[-1]["delete"].append((e["namespace"], e["key"]))
            elif m == "getChatSettings":
                out.append({"fn": "get-chat-settings", "chat-id": e["chat"]})
            elif m == "getUserData":
                out.append({"fn": "get-user-data", "chat-id": e["chat"], "user-id": e["user"]})
            elif m == "addUserData":
                out.append({"fn": "set-user-data", "chat-id": e["chat"], "user-id": e["user"], "key": e["key"],
                            "value": e["value"]})
            elif m == "clearChatSettings":
                out.append({"fn": "write-chat-settings", "chat-id": e["chat"], "change": {"rewrite": []}})
            elif m == "setChatSetting":
                last = out[-1] if out else None
                if (last is not None and last["fn"] == "write-chat-settings" and last["chat-id"] == e["chat"]
                        and ("merge" in last["change"] or "rewrite" in last["change"])):
                    next(iter(last["change"].values())).append([e["key"], e["value"]])
                else:
                    out.append({"fn": "write-chat-settings", "chat-id": e["chat"],
                                "change": {"merge": [[e["key"], e["value"]]]}})
            elif m == "unsetChatSetting":
                out.append({"fn": "write-chat-settings", "chat-id": e["chat"], "change": {"unset": e["key"]}})
        return out


def expected_observed(calls: list[dict[str, Any]], rows_before: dict[tuple[str, str], Any]) -> list[dict[str, Any]]:
    """Expected WIT storage calls in the form ``RecordingDatabase.observed`` gives."""
    out: list[dict[str, Any]] = []
    for c in calls:
        fn = c["fn"]
        if fn in ("load", "get"):
            out.append({"fn": "read-rows"})
        elif fn == "write":
            batch = c["batch"]
            deletes = [(ns, k) for (ns, k) in rows_before if ns in batch["clear"]]
            deletes += [(d["namespace"], d["key"]) for d in batch["delete"]]
            upserts = [(u["namespace"], u["key"], u["value"]) for u in batch["upsert"]]
            if deletes or upserts:
                out.append({"fn": "row-writes", "upsert": upserts, "delete": deletes})
        elif fn == "write-chat-settings":
            change = c["change"]
            if "merge" in change and not change["merge"]:
                continue  # a merge of nothing calls no object method
            out.append({**c, "chat-id": as_int(c["chat-id"])})
        else:
            out.append({**c, **{k: as_int(c[k]) for k in ("chat-id", "user-id") if k in c}})
    return out


def group_matches(expected: dict[str, Any], actual: dict[str, Any], partial: bool = False) -> bool:
    """One observed call against one expected (``partial``: the actual group was cut
    short by a failure, so it need only be part of the expected one)."""
    if expected["fn"] != actual["fn"]:
        return False
    fn = expected["fn"]
    if fn == "read-rows":
        return True
    if fn == "row-writes":
        def up_eq(e: Any, a: Any) -> bool:
            return e[0] == a[0] and e[1] == a[1] and json_equal(e[2], a[2])

        if partial:
            pool_u, pool_d = list(expected["upsert"]), list(expected["delete"])
            for a in actual["upsert"]:
                hit = next((i for i, e in enumerate(pool_u) if up_eq(e, a)), None)
                if hit is None:
                    return False
                del pool_u[hit]
            for a in actual["delete"]:
                if a not in pool_d:
                    return False
                pool_d.remove(a)
            return True
        return (multiset_equal(expected["upsert"], actual["upsert"], up_eq)
                and multiset_equal(expected["delete"], actual["delete"], lambda e, a: e == a))
    if set(expected) != set(actual):
        return False
    for key, value in expected.items():
        if key == "change":
            (tag, pairs), = value.items()
            if tag not in actual[key]:
                return False
            if tag == "unset":
                if pairs != actual[key]["unset"]:
                    return False
            elif partial:
                if not all(list(p) in [list(x) for x in pairs] for p in actual[key][tag]):
                    return False
            elif not multiset_equal(pairs, actual[key][tag], lambda e, a: list(e) == list(a)):
                return False
        elif key == "value" and fn == "set-user-data":
            if not json_equal(value, actual[key]):
                return False
        elif value != actual[key]:
            return False
    return True


def check_storage_calls(step: dict[str, Any], db: RecordingDatabase, entries: list[dict[str, Any]],
                        rows_before: dict[tuple[str, str], Any], where: str) -> None:
    failed_at = next((i for i, e in enumerate(entries) if e["failed"]), None)
    cut = entries if failed_at is None else entries[: failed_at + 1]
    actual = db.observed(cut)
    if "storage_calls" in step:
        expected_wit = step["storage_calls"]
        if not expected_wit:
            assert entries == [], f"{where}: expected no storage call, the object saw {entries}"
            return
        expected = expected_observed(expected_wit, rows_before)
        if any(c["fn"] in ("load", "get") for c in expected_wit):
            assert any(a["fn"] == "read-rows" for a in actual), f"{where}: expected a row read, saw {entries}"
        exp = [e for e in expected if e["fn"] != "read-rows"]
        act = [a for a in actual if a["fn"] != "read-rows"]
        if failed_at is None:
            ok = len(exp) == len(act) and all(group_matches(e, a) for e, a in zip(exp, act))
        else:
            # Cut short by a failure: every group before the last complete, the last part of its expected.
            ok = (len(act) == len(exp)
                  and all(group_matches(e, a) for e, a in zip(exp[:-1], act[:-1]))
                  and (not act or group_matches(exp[-1], act[-1], partial=True)))
        assert ok, f"{where}: storage calls differ\n expected {expected}\n observed {actual}\n object calls {entries}"
    if "storage_calls_include" in step:
        expected = [e for e in expected_observed(step["storage_calls_include"], rows_before) if e["fn"] != "read-rows"]
        i = 0
        for a in actual:
            if i < len(expected) and group_matches(expected[i], a):
                i += 1
        assert i == len(expected), f"{where}: storage calls lack {expected[i:]}\n observed {actual}"


def matches(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` answers ``expected`` (conformance/README.md): strings equal
    or JSON-equal, lists element-wise, objects on the fields ``expected`` names,
    anything else exactly (``true`` is not ``1``)."""
    if isinstance(expected, str) and isinstance(actual, str):
        return json_equal(expected, actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(matches(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and matches(v, actual[k]) for k, v in expected.items())
    return same_json(expected, actual)


def check_ok(call: str, expected: Any, actual: Any, where: str) -> None:
    bad = f"{where}: expected ok {expected!r}, got ok {actual!r}"
    if call == "cache.load-from-storage":
        # The one freedom the contract leaves: the order of the skipped rows.
        assert all(isinstance(s["reason"], str) and s["reason"] for s in actual["skipped"]), bad
        key = lambda s: (s["namespace"], s["key"])  # noqa: E731
        expected = {**expected, "skipped": sorted(expected["skipped"], key=key)}
        actual = {**actual, "skipped": sorted(actual["skipped"], key=key)}
    assert matches(expected, actual), bad


def check_contents(db: RecordingDatabase, step: dict[str, Any], where: str) -> None:
    if "rows" in step:
        assert multiset_equal(step["rows"], db.readable_rows(), lambda e, a: e["namespace"] == a["namespace"]
                              and e["key"] == a["key"] and json_equal(e["value"], a["value"])), \
            f"{where}: rows: expected {step['rows']}, got {db.readable_rows()}"
    if "chat_settings" in step:
        actual = [{"chat_id": c, "key": k, "value": v} for (c, k), v in db.settings.items()]
        assert multiset_equal(step["chat_settings"], actual, lambda e, a: as_int(e["chat_id"]) == a["chat_id"]
                              and e["key"] == a["key"] and e["value"] == a["value"]), \
            f"{where}: chat_settings: expected {step['chat_settings']}, got {actual}"
    if "user_data" in step:
        actual = [{"chat_id": c, "user_id": u, "key": k, "data": d} for (c, u, k), d in db.user_data.items()]
        assert multiset_equal(step["user_data"], actual, lambda e, a: as_int(e["chat_id"]) == a["chat_id"]
                              and as_int(e["user_id"]) == a["user_id"] and e["key"] == a["key"]
                              and json_equal(e["data"], a["data"])), \
            f"{where}: user_data: expected {step['user_data']}, got {actual}"


class AsyncRepositories:
    """The bot's async ``Database`` shape (``cache``, ``chatSettings``, ``userData``
    repositories of coroutines) over a :class:`RecordingDatabase`: the scenarios
    run through the staged calls of ``gromozeka_cache.aio`` with the same log."""

    class _Repository:
        def __init__(self, calls: dict[str, Any]) -> None:
            for name, fn in calls.items():
                setattr(self, name, self._coroutine(fn))

        @staticmethod
        def _coroutine(fn: Any) -> Any:
            async def call(*args: Any, **kwargs: Any) -> Any:
                await asyncio.sleep(0)
                return fn(*args, **kwargs)

            return call

    def __init__(self, db: RecordingDatabase) -> None:
        self.cache = self._Repository({
            "getCacheStorage": db.getCacheStorage,
            "setCacheStorage": db.setCacheStorage,
            "unsetCacheStorage": db.unsetCacheStorage,
        })
        self.chatSettings = self._Repository({
            "getChatSettings": db.getChatSettings,
            "setChatSetting": lambda chatId, key, value, *, updatedBy: db.setChatSetting(chatId, key, value),
            "unsetChatSetting": db.unsetChatSetting,
            "clearChatSettings": db.clearChatSettings,
        })
        self.userData = self._Repository({"getUserData": db.getUserData, "addUserData": db.addUserData})


def run_scenario(scenario: dict[str, Any], mode: str = "object") -> None:
    assert set(scenario) <= SCENARIO_KEYS, f"unknown scenario keys {set(scenario) - SCENARIO_KEYS}"
    db = RecordingDatabase(scenario.get("storage", {}))
    cache = NativeCache(str(packaged_component()))
    loop = asyncio.new_event_loop()
    if mode == "object":
        def wit_call(name: str, args: list[Any]) -> Any:
            return cache._wit_call(name, args)

        cache._attach_object(db, load=False)
    else:
        handle = cache._attach_async(AsyncDatabaseBridge(AsyncRepositories(db)))
        locks = KeyLocks()

        def wit_call(name: str, args: list[Any]) -> Any:
            return loop.run_until_complete(staged_call(handle, locks, "scenario", cache._wit_call, name, args))
    if "configure" in scenario:
        cache._wit_call("cache.configure", [gen_args(scenario["configure"])])
    for index, step in enumerate(scenario["steps"]):
        where = f"{scenario['name']} step {index} {json.dumps(step)[:300]}"
        if "mock" in step:
            assert set(step) <= MOCK_KEYS, f"{where}: unknown keys"
            kind = step["mock"]
            if kind in ("fail-writes", "fail-reads"):
                db.rules[kind[5:]] = {k: step[k] for k in ("message", "kind", "times", "fns") if k in step}
            elif kind == "heal":
                db.rules.clear()
            elif kind == "expect-storage":
                check_contents(db, step, where)
            else:
                raise AssertionError(f"{where}: unknown mock step")
            continue
        assert set(step) <= CALL_KEYS, f"{where}: unknown keys {set(step) - CALL_KEYS}"
        assert sum(k in step for k in ("ok", "err", "outcome")) == 1, f"{where}: one of ok/err/outcome"
        args = gen_args(step.get("args", []))
        rows_before = dict(db.rows)
        start = len(db.log)
        error: CacheError | None = None
        result: Any = None
        try:
            result = wit_call(step["call"], args)
        except ComponentTrapError as e:
            raise AssertionError(f"{where}: the component trapped: {e}") from e
        except CacheError as e:
            error = e
        entries = db.log[start:]
        if "ok" in step:
            assert error is None, f"{where}: expected ok {step['ok']!r}, got {error!r}"
            check_ok(step["call"], step["ok"], result, where)
        elif "err" in step:
            assert error is not None, f"{where}: expected err {step['err']}, got ok {result!r}"
            case = next((name for cls, name in ERROR_CASES.items() if isinstance(error, cls)), None)
            assert case == step["err"], f"{where}: expected err {step['err']}, got {error!r}"
            if "err_contains" in step:
                assert step["err_contains"] in error.detail, f"{where}: {error.detail!r} lacks {step['err_contains']!r}"
            if "err_kind" in step:
                assert isinstance(error, StorageError) and error.kind == step["err_kind"], \
                    f"{where}: expected kind {step['err_kind']}, got {error!r} kind {getattr(error, 'kind', None)}"
        else:
            assert step["outcome"] == "any", where
        check_storage_calls(step, db, entries, rows_before, where)
    db.rules.clear()
    cache._close_native()
    loop.close()
    RAN.append(f"{mode}:{scenario['name']}")


def test_scenario_file_is_format_2() -> None:
    assert DOC["format"] == 2


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(scenario: dict[str, Any]) -> None:
    run_scenario(copy.deepcopy(scenario))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario_through_the_async_api(scenario: dict[str, Any]) -> None:
    """The same scenario with the bot's async database: every storage request is
    staged, performed off the loop on a coroutine of the repositories, and retried."""
    run_scenario(copy.deepcopy(scenario), mode="async")


def test_every_scenario_ran() -> None:
    # Runs after the parametrized tests (pytest keeps file order): each scenario ran to its end.
    assert len(SCENARIOS) == EXPECTED_SCENARIOS
    expected = sorted(f"{mode}:{s['name']}" for mode in ("object", "async") for s in SCENARIOS)
    assert sorted(RAN) == expected, f"not run to the end: {set(expected) - set(RAN)}"
