from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from arbiter.bootstrap.credentials import load_credentials
from arbiter.gateway.ccxt.exchange import ccxt_exchange
from arbiter.gateway.errors import CredentialsError

SECRET_VALUE = "s3cr3t-that-must-never-show"


@mock_aws
def test_credentials_open_the_exchange_and_never_appear_in_errors() -> None:
    client = boto3.client("secretsmanager", region_name="eu-west-1")
    client.create_secret(Name="arbiter/kraken", SecretString=json.dumps({"apiKey": "k", "secret": SECRET_VALUE}))
    client.create_secret(Name="arbiter/broken", SecretString="{not json " + SECRET_VALUE)
    client.create_secret(Name="arbiter/partial", SecretString=json.dumps({"apiKey": SECRET_VALUE}))

    credentials = load_credentials("kraken", "arbiter/kraken")
    assert SECRET_VALUE not in repr(credentials)
    exchange = ccxt_exchange("kraken", credentials)
    assert exchange.secret == SECRET_VALUE
    assert exchange.enableRateLimit is True
    assert exchange.timeout == 3_000  # ccxt's 10 s default would leave no retry inside the 8 s budget

    for name, problem in (
        ("arbiter/missing", "is not found"),
        ("arbiter/broken", "is not valid JSON"),
        ("arbiter/partial", "lacks or has invalid: secret"),
    ):
        with pytest.raises(CredentialsError) as caught:
            load_credentials("kraken", name)
        assert problem in str(caught.value)
        assert SECRET_VALUE not in str(caught.value)
        assert caught.value.__cause__ is None
