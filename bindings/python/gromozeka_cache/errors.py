"""Python exceptions for the component's `cache-error` variant.

Every failed cache call raises a subclass of :class:`CacheError` whose type names the
`cache-error` case (``UnknownNamespaceError`` for ``unknown-namespace`` and so on); the
case name is also in ``.case`` and the payload string in ``.detail``.
"""

from __future__ import annotations


class CacheError(Exception):
    """A call into the cache component returned `cache-error`; the cache is unchanged."""

    case: str = ""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.case}: {detail}")
        self.detail = detail


class UnknownNamespaceError(CacheError, KeyError):
    """`unknown-namespace`: no namespace of this name is configured (detail = the name)."""

    case = "unknown-namespace"

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return Exception.__str__(self)


class InvalidJsonError(CacheError, ValueError):
    """`invalid-json`: a value is not JSON, is JSON null, or has the wrong JSON shape."""

    case = "invalid-json"


class InvalidConfigError(CacheError, ValueError):
    """`invalid-config`: `configure` got an empty/duplicate name or max-entries of 0."""

    case = "invalid-config"


class TooLargeError(CacheError, ValueError):
    """`too-large`: a key over 1024 bytes or a value over 1 MiB."""

    case = "too-large"


class StorageError(CacheError, OSError):
    """`storage`: the host's storage failed; detail is the storage's message."""

    case = "storage"


class ComponentTrapError(RuntimeError):
    """The component trapped (a bug in the component or the host). The instance is unusable."""


ERROR_TYPES: dict[str, type[CacheError]] = {
    cls.case: cls
    for cls in (UnknownNamespaceError, InvalidJsonError, InvalidConfigError, TooLargeError, StorageError)
}


def error_from_case(case: str, detail: str) -> CacheError:
    """Build the exception for a `cache-error` case name and payload.

    An unknown case (a newer component) still yields a plain :class:`CacheError`.
    """
    cls = ERROR_TYPES.get(case)
    if cls is None:
        err = CacheError(detail)
        err.case = case
        err.args = (f"{case}: {detail}",)
        return err
    return cls(detail)
