"""Runs conformance/scenarios.json against the real component on wasmtime-py.

The format and the comparison rules are specified in conformance/README.md.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import SCENARIOS
from mock_storage import READ_FNS, WRITE_FNS, RecordingStorage

from gromozeka_cache import CacheComponent, CacheError, ComponentTrapError
from gromozeka_cache.component import _field, _record
from gromozeka_cache.storage import Row

DOC = json.loads(SCENARIOS.read_text(encoding="utf-8"))
assert DOC.get("format") == 1, f"unsupported scenarios format {DOC.get('format')!r}"

# WIT parameter kinds and ok-result kinds of every callable function.
CALLS: dict[str, tuple[list[str], str]] = {
    "cache.configure": (["configs"], "unit"),
    "cache.get": (["str", "str"], "optjson"),
    "cache.set": (["str", "str", "str"], "unit"),
    "cache.delete": (["str", "str"], "bool"),
    "cache.get-many": (["str", "strlist"], "optjsonlist"),
    "cache.set-many": (["str", "pairs"], "unit"),
    "cache.clear-namespace": (["str"], "unit"),
    "cache.load-from-storage": ([], "load"),
    "cache.persist-all": ([], "persist"),
    "cache.stats": ([], "stats"),
    "bot.get-chat-settings": (["s64"], "json"),
    "bot.set-chat-settings": (["s64", "str"], "unit"),
    "bot.get-chat-info": (["s64"], "optjson"),
    "bot.set-chat-info": (["s64", "str"], "unit"),
    "bot.get-user-data": (["s64", "s64"], "json"),
    "bot.set-user-data": (["s64", "s64", "str", "str"], "unit"),
    "bot.get-user-state": (["s64", "str"], "optjson"),
    "bot.set-user-state": (["s64", "str", "str"], "unit"),
    "bot.clear-user-state": (["s64", "optstr"], "unit"),
}
SCENARIO_KEYS = {"name", "covers", "description", "configure", "storage", "steps"}
CALL_KEYS = {"call", "args", "ok", "err", "err_contains", "outcome", "storage_calls", "storage_calls_include", "note"}
MOCK_KEYS = {"mock", "message", "times", "fns", "rows", "chat_settings", "user_data", "note"}
STAT_FIELDS = {"name", "persistence", "size", "max-entries", "dirty", "hits", "misses", "evictions"}


# ---------------------------------------------------------------- helpers
def gen_str(spec: Any) -> str:
    """Expand a generated string ({"repeat"...} / {"concat"...}) or return a plain string."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and set(spec) == {"repeat", "times"}:
        return gen_str(spec["repeat"]) * int(spec["times"])
    if isinstance(spec, dict) and set(spec) == {"concat"}:
        return "".join(gen_str(p) for p in spec["concat"])
    raise ValueError(f"not a string or generated string: {spec!r}")


def to_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise ValueError(f"not an integer: {v!r}")
    return int(v)


def convert_arg(kind: str, v: Any) -> Any:
    if kind == "str":
        return gen_str(v)
    if kind == "optstr":
        return None if v is None else gen_str(v)
    if kind == "s64":
        return to_int(v)
    if kind == "strlist":
        return [gen_str(x) for x in v]
    if kind == "pairs":
        return [(gen_str(k), gen_str(x)) for k, x in v]
    if kind == "configs":
        out = []
        for c in v:
            assert set(c) == {"name", "max-entries", "persistence"}, c
            out.append(_record(name=gen_str(c["name"]), max_entries=int(c["max-entries"]),
                               persistence=c["persistence"]))
        return out
    raise AssertionError(kind)


def json_equal(a: Any, b: Any) -> bool:
    """Structural equality of parsed JSON that keeps booleans and numbers apart."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def json_text_equal(expected: str, actual: str) -> bool:
    try:
        return json_equal(json.loads(expected), json.loads(actual))
    except ValueError:
        return expected == actual  # not JSON on one side: plain text equality


def multiset_equal(expected: list[Any], actual: list[Any], eq) -> bool:
    remaining = list(actual)
    if len(expected) != len(actual):
        return False
    for e in expected:
        for i, a in enumerate(remaining):
            if eq(e, a):
                del remaining[i]
                break
        else:
            return False
    return True


def call_matches(exp: dict[str, Any], act: dict[str, Any]) -> bool:
    if exp.get("fn") != act.get("fn") or set(exp) != set(act):
        return False
    fn = exp["fn"]
    if fn == "write":
        eb, ab = exp["batch"], act["batch"]
        assert set(eb) == {"clear", "delete", "upsert"}, f"batch must list clear, delete, upsert: {eb}"
        return (
            multiset_equal(eb["clear"], ab["clear"], lambda x, y: x == y)
            and multiset_equal(eb["delete"], ab["delete"], lambda x, y: x == y)
            and multiset_equal(
                eb["upsert"], ab["upsert"],
                lambda x, y: x["namespace"] == y["namespace"] and x["key"] == y["key"]
                and json_text_equal(x["value"], y["value"]),
            )
        )
    for k, v in exp.items():
        a = act[k]
        if k in ("chat-id", "user-id"):
            if to_int(v) != a:
                return False
        elif k == "settings":
            if not multiset_equal([list(p) for p in v], a, lambda x, y: list(x) == list(y)):
                return False
        elif k == "value" and fn == "add-user-data":
            if not json_text_equal(v, a):
                return False
        elif v != a:
            return False
    return True


def is_subsequence(expected: list[dict], actual: list[dict]) -> bool:
    i = 0
    for act in actual:
        if i < len(expected) and call_matches(expected[i], act):
            i += 1
    return i == len(expected)


def check_ok(kind: str, expected: Any, actual: Any) -> str | None:
    """None if ``actual`` (wasmtime-py value) matches ``expected``; else a description."""
    def bad(why: str = "") -> str:
        return f"expected ok {expected!r}, got ok {actual!r} {why}".rstrip()

    if kind == "unit":
        return None if actual is None and expected is None else bad()
    if kind == "bool":
        return None if actual is expected else bad()
    if kind in ("json", "optjson"):
        if expected is None or actual is None:
            return None if expected is None and actual is None else bad()
        return None if json_text_equal(expected, actual) else bad()
    if kind == "optjsonlist":
        if not isinstance(actual, list) or len(actual) != len(expected):
            return bad()
        for e, a in zip(expected, actual, strict=True):
            if (e is None) != (a is None) or (e is not None and not json_text_equal(e, a)):
                return bad()
        return None
    if kind == "persist":
        got = {"written": _field(actual, "written"), "deleted": _field(actual, "deleted")}
        return None if got == expected else f"expected ok {expected}, got ok {got}"
    if kind == "load":
        skipped = [{"namespace": _field(s, "namespace"), "key": _field(s, "key"), "reason": _field(s, "reason")}
                   for s in _field(actual, "skipped")]
        got = {"loaded": _field(actual, "loaded"), "skipped": skipped}
        if got["loaded"] != expected["loaded"]:
            return f"expected ok {expected}, got ok {got}"
        if any(not isinstance(s["reason"], str) or not s["reason"] for s in skipped):
            return f"a skipped row has an empty reason: {got}"
        if not multiset_equal(expected["skipped"], skipped,
                              lambda e, a: (e["namespace"], e["key"]) == (a["namespace"], a["key"])):
            return f"expected ok {expected}, got ok {got}"
        return None
    if kind == "stats":
        got = [{f: _field(s, f) for f in STAT_FIELDS} for s in actual]
        if len(got) != len(expected):
            return f"expected {len(expected)} namespaces {expected}, got {got}"
        for e, a in zip(expected, got, strict=True):
            assert set(e) <= STAT_FIELDS, f"unknown stats field in {e}"
            if any(a[f] != v for f, v in e.items()):
                return f"expected stats {expected}, got {got}"
        return None
    raise AssertionError(kind)


def storage_contents_mismatch(mock: RecordingStorage, step: dict[str, Any]) -> str | None:
    problems = []
    if "rows" in step:
        actual = [{"namespace": r.namespace, "key": r.key, "value": r.value} for r in mock.rows()]
        if not multiset_equal(step["rows"], actual, lambda e, a: e["namespace"] == a["namespace"]
                              and e["key"] == a["key"] and json_text_equal(e["value"], a["value"])):
            problems.append(f"rows: expected {step['rows']}, got {actual}")
    if "chat_settings" in step:
        actual = [{"chat_id": c, "key": k, "value": v} for c, k, v in mock.chat_settings()]
        if not multiset_equal(step["chat_settings"], actual, lambda e, a: to_int(e["chat_id"]) == a["chat_id"]
                              and e["key"] == a["key"] and e["value"] == a["value"]):
            problems.append(f"chat_settings: expected {step['chat_settings']}, got {actual}")
    if "user_data" in step:
        actual = [{"chat_id": c, "user_id": u, "key": k, "data": d} for c, u, k, d in mock.user_data()]
        if not multiset_equal(step["user_data"], actual, lambda e, a: to_int(e["chat_id"]) == a["chat_id"]
                              and to_int(e["user_id"]) == a["user_id"] and e["key"] == a["key"]
                              and json_text_equal(e["data"], a["data"])):
            problems.append(f"user_data: expected {step['user_data']}, got {actual}")
    return "; ".join(problems) or None


# ---------------------------------------------------------------- runner
def run_scenario(scenario: dict[str, Any], wasm_path) -> None:
    unknown = set(scenario) - SCENARIO_KEYS
    assert not unknown, f"unknown scenario keys {unknown}"
    mock = RecordingStorage()
    initial = scenario.get("storage", {})
    assert set(initial) <= {"rows", "chat_settings", "user_data"}, initial
    mock.put_rows(Row(r["namespace"], r["key"], r["value"]) for r in initial.get("rows", []))
    for s in initial.get("chat_settings", []):
        mock.set_chat_settings(to_int(s["chat_id"]), [(s["key"], s["value"])])
    for u in initial.get("user_data", []):
        mock.add_user_data(to_int(u["chat_id"]), to_int(u["user_id"]), u["key"], u["data"])
    mock.calls.clear()

    comp = CacheComponent(mock, wasm_path)
    if "configure" in scenario:
        comp.call("cache", "configure", convert_arg("configs", scenario["configure"]))
    mock.calls.clear()

    for index, step in enumerate(scenario["steps"]):
        where = f"step {index} {json.dumps(step, ensure_ascii=False)[:300]}"
        if "mock" in step:
            unknown = set(step) - MOCK_KEYS
            assert not unknown, f"{where}: unknown keys {unknown}"
            kind = step["mock"]
            if kind == "fail-writes":
                mock.set_rule("writes", step["message"], step.get("times"), step.get("fns"), WRITE_FNS)
            elif kind == "fail-reads":
                mock.set_rule("reads", step["message"], step.get("times"), step.get("fns"), READ_FNS)
            elif kind == "heal":
                mock.heal()
            elif kind == "expect-storage":
                problem = storage_contents_mismatch(mock, step)
                assert problem is None, f"{where}: {problem}"
            else:
                raise AssertionError(f"{where}: unknown mock step {kind!r}")
            continue

        unknown = set(step) - CALL_KEYS
        assert not unknown, f"{where}: unknown keys {unknown}"
        assert sum(k in step for k in ("ok", "err", "outcome")) == 1, f"{where}: need exactly one of ok/err/outcome"
        params, result_kind = CALLS[step["call"]]
        raw_args = step.get("args", [])
        assert len(raw_args) == len(params), f"{where}: {step['call']} takes {len(params)} arguments"
        args = [convert_arg(k, v) for k, v in zip(params, raw_args, strict=True)]
        interface, name = step["call"].split(".", 1)

        mock.calls.clear()
        error: CacheError | None = None
        result: Any = None
        try:
            result = comp.call(interface, name, *args)
        except CacheError as exc:
            error = exc
        except ComponentTrapError as exc:
            pytest.fail(f"{where}: the component trapped: {exc}")
        calls = list(mock.calls)

        if "ok" in step:
            assert error is None, f"{where}: expected ok {step['ok']!r}, got err {error.case}({error.detail!r})"
            problem = check_ok(result_kind, step["ok"], result)
            assert problem is None, f"{where}: {problem}"
        elif "err" in step:
            assert error is not None, f"{where}: expected err {step['err']}, got ok {result!r}"
            assert error.case == step["err"], f"{where}: expected err {step['err']}, got {error.case}({error.detail!r})"
            if "err_contains" in step:
                assert step["err_contains"] in error.detail, (
                    f"{where}: error payload {error.detail!r} lacks {step['err_contains']!r}")
        else:
            assert step["outcome"] == "any", f"{where}: unknown outcome"

        if "storage_calls" in step:
            exp = step["storage_calls"]
            ok = len(exp) == len(calls) and all(call_matches(e, a) for e, a in zip(exp, calls, strict=True))
            assert ok, f"{where}: storage calls differ\n expected {exp}\n actual   {calls}"
        if "storage_calls_include" in step:
            exp = step["storage_calls_include"]
            assert is_subsequence(exp, calls), f"{where}: storage calls lack\n {exp}\n actual {calls}"


@pytest.mark.parametrize("scenario", DOC["scenarios"], ids=[s["name"] for s in DOC["scenarios"]])
def test_scenario(scenario: dict[str, Any], wasm_path) -> None:
    run_scenario(scenario, wasm_path)


def test_scenarios_cover_every_semantic() -> None:
    covered = {n for s in DOC["scenarios"] for n in s["covers"]}
    assert covered >= set(range(1, 13)), f"semantics not covered: {sorted(set(range(1, 13)) - covered)}"
    names = [s["name"] for s in DOC["scenarios"]]
    assert len(names) == len(set(names)), "scenario names must be unique"
