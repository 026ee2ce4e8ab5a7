"""Venue access: one gateway interface; the paper venue (and, to come, ccxt) behind it."""

from arbiter.gateway.errors import (
    FinalGatewayError,
    GatewayError,
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
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
    "PaperVenue",
    "PlaceFault",
    "RateLimitedError",
    "RetryableGatewayError",
    "VenueFaults",
    "VenueTimeoutError",
    "VenueUnavailableError",
]
