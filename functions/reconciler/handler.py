"""The scheduled reconciler: see ``arbiter.reconcile.sweep.Reconciler``."""

from arbiter_handlers.reconciler import handler

__all__ = ["handler"]
