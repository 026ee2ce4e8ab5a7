"""Opening a venue in one call: a working gateway, or a clear error and nothing opened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from arbiter.bootstrap.venues import SharedVenueState, open_ccxt_gateway, open_paper_venue, secrets_manager_credentials
from arbiter.gateway.ccxt.venues import UnsupportedVenueError
from arbiter.gateway.errors import CredentialsError
from arbiter.gateway.interface import VenueGateway
from arbiter.gateway.paper import PaperVenue
from arbiter.models import OrderRequest, OrderStatus, Side
from arbiter.models.time import ManualClock
from arbiter.settings import GatewaySettings, VenueCredentials
from tests.conftest import SHARED_FIXTURES
from tests.integration.gateway.http_venues import HttpVenue

pytestmark = pytest.mark.skipif(not SHARED_FIXTURES.exists(), reason="shared fixtures not beside this checkout")

SETTINGS = GatewaySettings(credentials_secret_prefix="test/venues/")
CLOCK = ManualClock(1_767_225_600_000)
SECRET_VALUE = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1zaG93"


def kraken_markets() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SHARED_FIXTURES / "markets" / "kraken.json").read_text(encoding="utf-8"))
    return loaded


class SpyFactory:
    """Stands in for ccxt: records every exchange it is asked to open."""

    def __init__(self, http: HttpVenue) -> None:
        self.http = http
        self.opened: list[tuple[str, VenueCredentials | None]] = []
        self.timeouts: list[int] = []

    def __call__(self, venue: str, credentials: VenueCredentials | None, timeout_ms: int) -> Any:
        self.opened.append((venue, credentials))
        self.timeouts.append(timeout_ms)
        return self.http.exchange()


@pytest.fixture
def secrets() -> Iterator[Any]:
    parameters.clear_caches()  # Powertools caches secrets per process
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        yield client
    parameters.clear_caches()


def test_a_venue_opens_with_its_secret_settings_and_shared_state(secrets: Any) -> None:
    secrets.create_secret(Name="test/venues/kraken", SecretString=json.dumps({"apiKey": "k", "secret": SECRET_VALUE}))
    spy = SpyFactory(HttpVenue("kraken"))
    state = SharedVenueState.in_memory()
    gateway = open_ccxt_gateway(
        "kraken",
        SETTINGS,
        secrets_manager_credentials(SETTINGS),
        state=state,
        ccxt_markets=kraken_markets(),
        exchange_factory=spy,
        clock=CLOCK,
    )
    assert isinstance(gateway, VenueGateway)
    [(venue, credentials)] = spy.opened
    assert venue == "kraken"
    assert credentials is not None
    assert credentials.secret.get_secret_value() == SECRET_VALUE
    assert "LTC/USDT" in gateway.markets
    assert gateway.policy.budget_s == SETTINGS.retry_budget_s
    assert spy.timeouts == [SETTINGS.request_timeout_ms]
    assert gateway.breaker is not None
    assert gateway.breaker.store is state.breakers
    order = gateway.place_order(
        OrderRequest(
            venue="kraken",
            symbol="LTC/USDT",
            side=Side.BUY,
            amount=Decimal("0.1"),
            price=Decimal("70.5"),
            client_order_id="5e0c3f0a-0000-5000-8000-000000000001",
        )
    )
    assert order.status is OrderStatus.CLOSED


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "is not found"),
        ("{not json " + SECRET_VALUE, "is not valid JSON"),
        (json.dumps({"apiKey": SECRET_VALUE}), "lacks or has invalid: secret"),
        (json.dumps(["apiKey", SECRET_VALUE]), "must be a JSON object"),
    ],
)
def test_a_missing_or_malformed_secret_stops_the_venue_and_opens_nothing(
    secrets: Any, secret: str | None, problem: str
) -> None:
    if secret is not None:
        secrets.create_secret(Name="test/venues/kraken", SecretString=secret)
    spy = SpyFactory(HttpVenue("kraken"))
    with pytest.raises(CredentialsError, match=problem) as caught:
        open_ccxt_gateway("kraken", SETTINGS, secrets_manager_credentials(SETTINGS), exchange_factory=spy, clock=CLOCK)
    assert "test/venues/kraken" in str(caught.value)
    assert SECRET_VALUE not in str(caught.value)
    assert spy.opened == []


def test_a_venue_without_verified_order_ids_never_reads_its_secret() -> None:
    asked: list[str] = []

    def credentials(venue: str) -> VenueCredentials:
        asked.append(venue)
        raise AssertionError("must not be reached")

    with pytest.raises(UnsupportedVenueError, match="bitmart"):
        open_ccxt_gateway("bitmart", SETTINGS, credentials, clock=CLOCK)
    assert asked == []


def test_paper_venue_on_the_real_venues_public_books() -> None:
    spy = SpyFactory(HttpVenue("kraken"))
    venue = open_paper_venue(
        "kraken",
        {"USDT": Decimal(1_000)},
        settings=SETTINGS,
        ccxt_markets=kraken_markets(),
        exchange_factory=spy,
        symbols={"LTC/USDT"},
        clock=CLOCK,
    )
    assert isinstance(venue, PaperVenue)
    assert isinstance(venue, VenueGateway)
    assert spy.opened == [("kraken", None)]  # public data: no credentials read
    order = venue.place_order(
        OrderRequest(
            venue="kraken",
            symbol="LTC/USDT",
            side=Side.BUY,
            amount=Decimal("1"),
            price=Decimal("70.7"),
            client_order_id="paper-1",
        )
    )
    assert (order.status, order.average) == (OrderStatus.CLOSED, Decimal("70.60"))
    assert "Depth" in " ".join(spy.http.requests)


def test_paper_venue_on_given_books_needs_their_markets() -> None:
    with pytest.raises(ValueError, match="markets"):
        open_paper_venue("kraken", {}, books=lambda _symbol: pytest.fail("no book needed"), clock=CLOCK)
    with pytest.raises(ValueError, match="settings"):
        open_paper_venue("kraken", {}, clock=CLOCK)
    local = open_paper_venue(
        "kraken", {"USDT": Decimal(5)}, books=lambda _s: pytest.fail("no book needed"), markets={}, clock=CLOCK
    )
    assert local.fetch_balances().balances["USDT"].free == Decimal(5)
