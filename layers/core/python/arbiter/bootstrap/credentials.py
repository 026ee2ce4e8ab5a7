"""Exchange credentials from Secrets Manager through Powertools Parameters (cached), never logged or put in an
exception. Read at the edge: the gateway is given credentials, it never fetches them."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from pydantic import ValidationError

from arbiter.gateway.errors import CredentialsError
from arbiter.settings import VenueCredentials

CACHE_SECONDS = 300


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
