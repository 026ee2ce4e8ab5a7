"""What the reconciler last proved about a venue."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from arbiter.models.common import ValueModel


class VenueVerification(ValueModel):
    venue: str
    verified_at_ms: int | None = None
    """The last sweep that found the venue's balances explained; None: never yet."""
    balances: dict[str, Decimal] = Field(default_factory=dict)
    """Free plus in orders, per asset, at that sweep."""
    effects: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    """Per clientOrderId of the journal then, what its fills and fees had changed in the account, per asset."""
    attempted_at_ms: int | None = None
    error: str | None = None
    """Why the last attempt could not verify the venue (unreachable, malformed answer); None when it did."""
    unreadable_since_ms: int | None = None
    """When the venue last became unreadable (None: it answered the last sweep)."""
    unreadable_raised: bool = False
    """Its staying unreadable was raised as an incident already (once per spell)."""
    open_incident: dict[str, Decimal] = Field(default_factory=dict)
    """The unexplained difference already raised as an incident: the same one is not raised every minute again
    (the venue stays unverified until people resolve it); a different one is."""
    dust: dict[str, Decimal] = Field(default_factory=dict)
    """Per asset, the running total of what was let pass as dust on this venue: balance differences below the
    dust threshold, and the leftovers of executions below their exposure tolerance. Each is harmless alone;
    together they can be real money, so the total is watched."""
    dust_alerted: tuple[str, ...] = ()
    """Assets whose running dust total was alerted already (once each, until people reset it)."""
