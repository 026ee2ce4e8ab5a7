"""Exchange credentials from Secrets Manager through Powertools Parameters (cached), never logged or put in an
exception; and the ccxt exchange built with them."""

from __future__ import annotations

from typing import Any

import ccxt
from aws_lambda_powertools.utilities import parameters
from pydantic import ValidationError

from arbiter.settings import VenueCredentials

CACHE_SECONDS = 300


class CredentialsError(RuntimeError):
    """The venue cannot be opened: its secret is missing or malformed. The message never holds secret values."""


def load_credentials(venue: str, secret_name: str) -> VenueCredentials:
    try:
        raw = parameters.get_secret(secret_name, transform="json", max_age=CACHE_SECONDS)
    except parameters.exceptions.TransformParameterError:
        raise CredentialsError(f"{venue}: secret {secret_name!r} is not valid JSON") from None
    except parameters.exceptions.GetParameterError as error:
        reason = "not found" if "ResourceNotFound" in str(error) else "unreadable"
        raise CredentialsError(f"{venue}: secret {secret_name!r} is {reason}") from None
    if not isinstance(raw, dict):
        raise CredentialsError(f"{venue}: secret {secret_name!r} must be a JSON object")
    try:
        return VenueCredentials.model_validate(
            {"api_key": raw.get("apiKey"), "secret": raw.get("secret"), "password": raw.get("password")}
        )
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors(include_input=False))
        raise CredentialsError(f"{venue}: secret {secret_name!r} lacks or has invalid: {fields}") from None


def ccxt_exchange(venue: str, credentials: VenueCredentials | None, timeout_ms: int = 3_000) -> Any:
    """A sync ccxt exchange with ccxt's own rate limiter on (public data only without credentials). Its
    request timeout stays well inside the gateway's retry budget, so a timed-out attempt leaves room to retry."""
    if not hasattr(ccxt, venue):
        raise CredentialsError(f"{venue}: not a ccxt exchange id")
    config: dict[str, Any] = {"enableRateLimit": True, "timeout": timeout_ms}
    if credentials is not None:
        config |= {"apiKey": credentials.api_key.get_secret_value(), "secret": credentials.secret.get_secret_value()}
        if credentials.password is not None:
            config["password"] = credentials.password.get_secret_value()
    return getattr(ccxt, venue)(config)
