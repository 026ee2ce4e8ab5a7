from __future__ import annotations

from arbiter.models import ExecutionStatus
from tests.integration.saga.conftest import World, cross_venue, triangle


def test_a_two_leg_happy_path_settles_through_the_real_asl(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = make_world()
    outcome = world.platform.execute(cross_venue())
    assert outcome.status == "SUCCEEDED", outcome.output
    assert outcome.record.status is ExecutionStatus.SETTLED
    assert outcome.transitions <= 20


def test_a_triangle_settles(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = make_world()
    outcome = world.platform.execute(triangle())
    assert outcome.record.status is ExecutionStatus.SETTLED, outcome.output
