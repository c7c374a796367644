"""The conformance suite's mock storage (conformance/README.md, "Mock storage semantics")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gromozeka_cache.storage import Batch, MemoryStorage, Row

WRITE_FNS = ("write", "set-chat-settings", "add-user-data")
READ_FNS = ("load", "get", "get-chat-settings", "get-user-data")


class MockStorageFailure(Exception):
    """Raised by the mock to make a storage call return err(message)."""


@dataclass
class FailureRule:
    message: str
    times: int | None
    fns: tuple[str, ...]


class RecordingStorage(MemoryStorage):
    """MemoryStorage that records every call (as the README's JSON objects) and can fail."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []
        self.rules: dict[str, FailureRule | None] = {"writes": None, "reads": None}

    def set_rule(self, kind: str, message: str, times: int | None, fns: list[str] | None, allowed: tuple[str, ...]):
        chosen = tuple(fns) if fns is not None else allowed
        bad = [f for f in chosen if f not in allowed]
        if bad:
            raise ValueError(f"fail-{kind}: {bad} are not {kind} calls")
        self.rules[kind] = FailureRule(message, times, chosen)

    def heal(self) -> None:
        self.rules = {"writes": None, "reads": None}

    def _enter(self, call: dict[str, Any]) -> None:
        self.calls.append(call)
        fn = call["fn"]
        kind = "writes" if fn in WRITE_FNS else "reads"
        rule = self.rules[kind]
        if rule is None or fn not in rule.fns:
            return
        if rule.times is not None:
            rule.times -= 1
            if rule.times <= 0:
                self.rules[kind] = None
        raise MockStorageFailure(rule.message)

    def load(self, namespace: str, limit: int) -> list[Row]:
        self._enter({"fn": "load", "namespace": namespace, "limit": limit})
        return super().load(namespace, limit)

    def get(self, namespace: str, key: str) -> str | None:
        self._enter({"fn": "get", "namespace": namespace, "key": key})
        return super().get(namespace, key)

    def write(self, batch: Batch) -> None:
        self._enter({"fn": "write", "batch": {
            "clear": list(batch.clear),
            "delete": [{"namespace": n, "key": k} for n, k in batch.delete],
            "upsert": [{"namespace": r.namespace, "key": r.key, "value": r.value} for r in batch.upsert],
        }})
        super().write(batch)

    def get_chat_settings(self, chat_id: int) -> list[tuple[str, str]]:
        self._enter({"fn": "get-chat-settings", "chat-id": chat_id})
        return super().get_chat_settings(chat_id)

    def set_chat_settings(self, chat_id: int, settings: list[tuple[str, str]]) -> None:
        self._enter({"fn": "set-chat-settings", "chat-id": chat_id, "settings": [list(p) for p in settings]})
        super().set_chat_settings(chat_id, settings)

    def get_user_data(self, chat_id: int, user_id: int) -> list[tuple[str, str]]:
        self._enter({"fn": "get-user-data", "chat-id": chat_id, "user-id": user_id})
        return super().get_user_data(chat_id, user_id)

    def add_user_data(self, chat_id: int, user_id: int, key: str, value: str) -> None:
        self._enter({"fn": "add-user-data", "chat-id": chat_id, "user-id": user_id, "key": key, "value": value})
        super().add_user_data(chat_id, user_id, key, value)
