"""The bot's settings types, as the asyncio tests use them: a key ``StrEnum`` and
a value built from text and written with ``toStr()``."""

from __future__ import annotations

import enum


class Key(enum.StrEnum):
    LANG = "lang"
    MODEL = "model"
    BAYES = "bayes"


class Value:
    """A settings value type of the bot's kind: built from text, written with toStr()."""

    def __init__(self, text: str) -> None:
        self.text = text

    def toStr(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Value) and other.text == self.text

    def __repr__(self) -> str:
        return f"Value({self.text!r})"
