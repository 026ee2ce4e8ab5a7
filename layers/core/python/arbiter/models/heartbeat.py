"""What a scanner shard says about itself while it runs: its feeds' health, for the heartbeat metric and for
the operators' health view (stored, so an API that runs elsewhere can read it)."""

from __future__ import annotations

from pydantic import Field

from arbiter.models.common import ValueModel, VenueId


def shard_name(index: int, count: int) -> str:
    """The one name of a shard: its lease, its heartbeat and its metrics' dimension."""
    return f"shard-{index}-of-{count}"


class FeedHealth(ValueModel):
    """One venue's feed, as the heartbeat reports it."""

    venue: VenueId
    connected: bool = Field(description="every followed book of the venue has delivered since its last failure")
    last_message_age_ms: int | None = Field(description="since the venue's newest book arrived; None: none yet")
    books: int = Field(ge=0, description="books followed")
    reconnects: int = Field(ge=0)
    resyncs: int = Field(ge=0, description="sequence gaps that forced a new snapshot")
    rest_snapshots: int = Field(ge=0, description="books fetched over REST while the stream was down")
    dropped: int = Field(ge=0, description="malformed, out-of-order or unknown-symbol messages dropped")
    failed_symbols: tuple[str, ...] = Field(default=(), description="symbols the venue refused (not followed)")


class ShardHeartbeat(ValueModel):
    """A shard's latest heartbeat: who runs it, when it last said so, and how each venue's feed is doing."""

    shard: str
    owner: str = Field(description="the invocation holding the shard's lease")
    at_ms: int = Field(description="when the heartbeat was written (the scanner's clock)")
    feeds: tuple[FeedHealth, ...] = ()
    scoring: str | None = Field(
        default=None, description="how the shard ranks opportunities: by the live model, or why by expected profit"
    )
