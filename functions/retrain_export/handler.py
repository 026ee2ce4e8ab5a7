"""Retraining task: see ``arbiter_handlers.retraining.export`` (and ``arbiter.scoring.retraining``)."""

from arbiter_handlers.retraining import export as handler

__all__ = ["handler"]
