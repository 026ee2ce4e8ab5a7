"""Saga task PlaceLegs: see ``arbiter.execution.steps.SagaSteps.place_legs``."""

from arbiter_handlers.saga import saga_task

handler = saga_task("place_legs")
