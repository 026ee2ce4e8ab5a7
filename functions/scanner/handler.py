"""The scheduled scanner: see ``arbiter.scanner`` and ``arbiter_handlers.scanner``."""

from arbiter_handlers.scanner import handler

__all__ = ["handler"]
