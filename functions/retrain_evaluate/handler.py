"""Retraining task: see ``arbiter_handlers.retraining.evaluate`` (and ``arbiter.scoring.retraining``)."""

from arbiter_handlers.retraining import evaluate as handler

__all__ = ["handler"]
