"""Retraining task: see ``arbiter_handlers.retraining.promote_candidate`` (and ``arbiter.scoring.retraining``)."""

from arbiter_handlers.retraining import promote_candidate as handler

__all__ = ["handler"]
