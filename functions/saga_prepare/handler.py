"""Saga task Prepare: see ``arbiter.execution.steps.SagaSteps.prepare``."""

from arbiter_handlers.saga import saga_task

handler = saga_task("prepare")
