"""Saga task Settle: see ``arbiter.execution.steps.SagaSteps.settle``."""

from arbiter_handlers.saga import saga_task

handler = saga_task("settle")
