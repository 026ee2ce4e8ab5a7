"""The gateway's typed errors. Callers never see a bare ccxt exception: every error says whether retrying can
help and carries the venue, symbol and clientOrderId it concerns."""

from __future__ import annotations


class GatewayError(Exception):
    retryable: bool = False
    proves_absent: bool = False
    """The venue answered a placement with a refusal: no order exists under its clientOrderId."""

    def __init__(self, message: str, *, venue: str, symbol: str | None = None, client_order_id: str | None = None):
        self.venue, self.symbol, self.client_order_id = venue, symbol, client_order_id
        where = " ".join(part for part in (venue, symbol, client_order_id) if part)
        super().__init__(f"{where}: {message}")


class RetryableGatewayError(GatewayError):
    """Retrying later may succeed (network, timeout, venue unavailable, rate limited)."""

    retryable = True


class VenueUnavailableError(RetryableGatewayError):
    pass


class VenueTimeoutError(RetryableGatewayError):
    """The request may or may not have reached the venue: look the order up before sending it again."""


class OrderUnconfirmedError(VenueTimeoutError):
    """The venue acknowledged the order (``exchange_order_id``) but its state could not be read. Look it up
    later; never send it again."""

    def __init__(
        self,
        message: str,
        *,
        venue: str,
        symbol: str | None = None,
        client_order_id: str | None = None,
        exchange_order_id: str | None = None,
    ) -> None:
        self.exchange_order_id = exchange_order_id
        super().__init__(message, venue=venue, symbol=symbol, client_order_id=client_order_id)


class RateLimitedError(RetryableGatewayError):
    pass


class FinalGatewayError(GatewayError):
    """The venue refused; the same request will be refused again."""


class AmbiguousOrderError(FinalGatewayError):
    """The venue lists more than one order under one clientOrderId: one intent became two orders (or the venue
    reused an id). Never a choice between them: an incident for people to resolve."""


class OrderRejectedError(FinalGatewayError):
    proves_absent = True


class InsufficientFundsError(FinalGatewayError):
    proves_absent = True


class InvalidOrderError(FinalGatewayError):
    proves_absent = True


class OrderNotFoundError(FinalGatewayError):
    pass


class CredentialsError(RuntimeError):
    """The venue cannot be opened: its secret is missing or malformed. The message never holds secret values."""
