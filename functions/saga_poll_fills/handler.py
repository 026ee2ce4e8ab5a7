"""Saga task PollFills: see ``arbiter.execution.steps.SagaSteps.poll_fills``."""

from arbiter_handlers.saga import saga_task

handler = saga_task("poll_fills")
