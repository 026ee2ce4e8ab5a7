"""Venue access: one gateway interface, over ccxt or the paper venue; failure policy, breakers, rate limits."""

from arbiter.gateway.errors import (
    FinalGatewayError,
    GatewayError,
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
    OrderUnconfirmedError,
    RateLimitedError,
    RetryableGatewayError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from arbiter.gateway.faults import FaultRule, PlaceFault, VenueFaults
from arbiter.gateway.paper import BookSource, PaperVenue

__all__ = [
    "BookSource",
    "FaultRule",
    "FinalGatewayError",
    "GatewayError",
    "InsufficientFundsError",
    "InvalidOrderError",
    "OrderNotFoundError",
    "OrderRejectedError",
    "OrderUnconfirmedError",
    "PaperVenue",
    "PlaceFault",
    "RateLimitedError",
    "RetryableGatewayError",
    "VenueFaults",
    "VenueTimeoutError",
    "VenueUnavailableError",
]
