"""moto's backends are not thread-safe (a query can iterate a table while another thread writes to it), but
the saga's tasks run on moto's worker threads and send legs from several threads at once. Every mocked AWS
request goes through moto's BotocoreStubber, so serialising that one entry point makes the emulation safe;
our handlers themselves still run concurrently (Lambda invocations are answered before the stubber)."""

from __future__ import annotations

import threading
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber

_LOCK = threading.RLock()
_original_call = BotocoreStubber.__call__


def _serialised_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return _original_call(self, event_name, request, **kwargs)


def serialise_moto_requests() -> None:
    """Idempotent: installs the lock once per process."""
    BotocoreStubber.__call__ = _serialised_call  # type: ignore[method-assign]
