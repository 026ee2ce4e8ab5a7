"""The ccxt exchange object for a venue: sync, ccxt's own rate limiter on, credentials given by the caller."""

from __future__ import annotations

from typing import Any

import ccxt

from arbiter.gateway.errors import CredentialsError
from arbiter.lazy_ccxt import is_exchange_id
from arbiter.settings import VenueCredentials


def ccxt_exchange(venue: str, credentials: VenueCredentials | None, timeout_ms: int = 3_000) -> Any:
    """A sync ccxt exchange with ccxt's own rate limiter on (public data only without credentials). Its
    request timeout stays well inside the gateway's retry budget, so a timed-out attempt leaves room to retry."""
    if not is_exchange_id(venue):
        raise CredentialsError(f"{venue}: not a ccxt exchange id")
    config: dict[str, Any] = {"enableRateLimit": True, "timeout": timeout_ms}
    if credentials is not None:
        config |= {"apiKey": credentials.api_key.get_secret_value(), "secret": credentials.secret.get_secret_value()}
        if credentials.password is not None:
            config["password"] = credentials.password.get_secret_value()
    return getattr(ccxt, venue)(config)
