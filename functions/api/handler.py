"""The operators' REST API: see ``arbiter_handlers.api``."""

from arbiter_handlers.api import handler

__all__ = ["handler"]
