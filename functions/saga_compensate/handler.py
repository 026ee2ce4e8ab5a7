"""Saga task Compensate: see ``arbiter.execution.steps.SagaSteps.compensate``."""

from arbiter_handlers.saga import saga_task

handler = saga_task("compensate")
