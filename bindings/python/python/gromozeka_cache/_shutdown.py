"""Nothing acknowledged is lost at shutdown: pending on-shutdown changes are
persisted at interpreter exit (``atexit``) and on SIGTERM and SIGHUP.

When a database is injected, the package installs handlers for SIGTERM and SIGHUP
(from the main thread; Python allows no other). The handler persists every open
cache, then:

- if the application had installed a handler of its own before, calls it (the
  handlers are chained, not replaced);
- if the signal had its default action, restores it and re-raises the signal, so
  the process ends exactly as it would have (status 128 + signal).

A signal the application ignores (``SIG_IGN``) is left alone. A handler the
application installs *after* ``injectDatabase`` replaces this one; it should call
``CacheService.getInstance().persistAll()`` (or exit normally, which persists).
SIGKILL and power loss cannot be caught: on-shutdown changes since the last
persist are lost then.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import weakref
from typing import Any

log = logging.getLogger("gromozeka_cache")

_caches: weakref.WeakSet[Any] = weakref.WeakSet()
_previous: dict[int, Any] = {}
_lock = threading.Lock()

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def register(cache: Any) -> None:
    """Persist ``cache`` at exit and on SIGTERM/SIGHUP (handlers installed now if
    this is the main thread)."""
    _caches.add(cache)
    install_handlers()


def install_handlers() -> None:
    """Installs the persisting handler for SIGTERM and SIGHUP, chaining any handler
    already there; does nothing outside the main thread (logged)."""
    if threading.current_thread() is not threading.main_thread():
        log.warning(
            "cache: injectDatabase ran outside the main thread, so no SIGTERM/SIGHUP handler was "
            "installed; call gromozeka_cache.install_signal_handlers() from the main thread"
        )
        return
    with _lock:
        for signum in SIGNALS:
            if signum in _previous:
                continue
            current = signal.getsignal(signum)
            if current is signal.SIG_IGN or current is None:
                continue
            signal.signal(signum, _handle)
            _previous[signum] = current


def _persist_all() -> bool:
    """Persists every registered open cache; false if one of them was inside a
    storage callback on this thread (the signal is then delivered again when that
    call returns)."""
    from .errors import ReentrantCallError

    for cache in list(_caches):
        if cache.closed:
            continue
        try:
            cache.persistAll()
        except ReentrantCallError:
            return False
        except Exception:
            log.exception("cache: persisting pending changes failed; they are lost if the process ends now")
    return True


def _handle(signum: int, frame: Any) -> None:
    if not _persist_all():
        for cache in list(_caches):
            cache._defer_signal(signum)
        return
    previous = _previous.get(signum)
    if callable(previous):
        previous(signum, frame)
        return
    # The default action: end the process as the signal would have.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _deliver_deferred(signum: int) -> None:
    """Called by the native module when the call during which ``signum`` arrived
    has returned."""
    _handle(signum, None)


def _close_at_exit() -> None:
    for cache in list(_caches):
        try:
            cache.close()
        except Exception:
            log.exception("cache: persisting at interpreter exit failed; pending on-shutdown changes are lost")


atexit.register(_close_at_exit)
