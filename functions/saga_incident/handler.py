"""Saga task Incident: see ``arbiter.execution.steps.SagaSteps.incident``."""

from arbiter_handlers.saga import saga_task

handler = saga_task("incident")
