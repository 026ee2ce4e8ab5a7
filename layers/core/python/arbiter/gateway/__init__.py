"""Venue access: one gateway interface (``interface.VenueGateway``) and its typed errors, with an adapter per
kind of venue: ``ccxt`` (real venues), ``paper`` (the simulated venue, local and paper mode) and
``resilience`` (breakers and the shared rate limit the ccxt adapter calls through). Importing this package
loads neither ccxt nor the paper venue; ``arbiter.bootstrap.venues`` opens a venue in one call.

- ccxt flavour: sync. A Lambda invocation handles one event and the saga sends its legs from threads; the sync
  exchanges keep ccxt's per-process rate limiter and need no event loop living across our synchronous domain
  code. Fetching many books concurrently is the scanner's concern (threads over sync exchanges).
- Retry budget (``GatewaySettings``): ccxt's NetworkError family only, up to 4 attempts and 8 s per call,
  exponential backoff from 0.2 s capped at 2 s with up to 0.2 s jitter; every attempt takes a shared rate token.
- One intent, one order: the clientOrderId goes in the parameter each venue's ccxt code forwards (``venues``),
  an uncertain placement is looked up before any resend, and an acknowledged order is only ever read again.
- Breaker: opens after 5 consecutive failed calls, half-opens after 30 s; the probe holds a 20 s lease.
"""

from arbiter.gateway.errors import (
    AmbiguousOrderError,
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
from arbiter.gateway.interface import VenueGateway

__all__ = [
    "AmbiguousOrderError",
    "FinalGatewayError",
    "GatewayError",
    "InsufficientFundsError",
    "InvalidOrderError",
    "OrderNotFoundError",
    "OrderRejectedError",
    "OrderUnconfirmedError",
    "RateLimitedError",
    "RetryableGatewayError",
    "VenueGateway",
    "VenueTimeoutError",
    "VenueUnavailableError",
]
