"""Saga task Reconcile: see ``arbiter.execution.steps.SagaSteps.reconcile``."""

from arbiter_handlers.saga import saga_task

handler = saga_task("reconcile")
