"""A deployed saga wires itself from the environment: each step is a separate Lambda (a fresh container here),
so everything one step leaves for the next must be in DynamoDB. The real handlers run on moto with real ccxt
exchanges (the packaged recorded markets) whose books are stubbed: nothing reaches the network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import ccxt
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from arbiter.bootstrap.saga import WiringError
from arbiter.execution.state import SagaState
from arbiter.gateway.ccxt.gateway import CcxtGateway
from arbiter.gateway.paper import PaperVenue
from arbiter.local import create_local_tables
from arbiter.local.lambda_invoke import LocalLambdaContext
from arbiter.local.platform import QUIET_POWERTOOLS, load_handler
from arbiter.markets.recorded import RECORDED_PRECISION_MODES, recorded_market_dicts
from arbiter.models import ExecutionStatus, Leg, Opportunity, OpportunityKind, OrderStatus, QuoteStamp, Side
from arbiter.models.time import ManualClock
from arbiter.settings import VenueCredentials
from arbiter.storage.breakers import DynamoBreakerStore
from arbiter.storage.configuration import DynamoConfigurationStore
from arbiter.storage.journal import DynamoExecutionJournal
from arbiter.storage.paper_ledger import DynamoPaperLedger
from arbiter_handlers import wiring

REGION = "eu-west-1"
NOW = 1_767_225_600_000
"""The deployed saga's clock in these tests (the wall clock is the stack's; a test owns its timings)."""
PREFIX = "arbiter-test"
# kraken's BTC/USDT ask below binance's bid: buy on kraken, sell on binance.
BOOKS = {
    ("kraken", "BTC/USDT"): {"bids": [[59_990.0, 1.0]], "asks": [[60_000.0, 1.0]]},
    ("binance", "BTC/USDT"): {"bids": [[60_100.0, 1.0]], "asks": [[60_110.0, 1.0]]},
}


@dataclass
class StubExchanges:
    """Makes real ccxt exchanges with the recorded markets whose books come from ``BOOKS``; any other
    request fails the test."""

    opened: list[tuple[str, VenueCredentials | None]] = field(default_factory=list)
    book_requests: list[tuple[str, str]] = field(default_factory=list)
    books: dict[tuple[str, str], dict[str, Any]] = field(default_factory=lambda: dict(BOOKS))

    def __call__(self, venue: str, credentials: VenueCredentials | None, timeout_ms: int) -> Any:
        self.opened.append((venue, credentials))
        exchange = getattr(ccxt, venue)({"enableRateLimit": False, "timeout": timeout_ms})
        exchange.set_markets({symbol: dict(raw) for symbol, raw in recorded_market_dicts(venue).items()})
        exchange.precisionMode = int(RECORDED_PRECISION_MODES[venue])  # the recorded file's, not today's class's
        exchange.fetch = self._no_network

        def fetch_order_book(symbol: str, limit: int | None = None, params: Any = None) -> dict[str, Any]:
            self.book_requests.append((venue, symbol))
            if (venue, symbol) not in self.books:
                raise ccxt.BadSymbol(f"{venue} {symbol}: no book in this test")
            return {
                **self.books[(venue, symbol)],
                "symbol": symbol,
                "timestamp": NOW,
                "nonce": None,
            }

        exchange.fetch_order_book = fetch_order_book
        return exchange

    @staticmethod
    def _no_network(url: str, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a request reached for the network: {url}")


@dataclass
class Deployed:
    tables: dict[str, str]
    exchanges: StubExchanges
    topic_arn: str
    environment: dict[str, str]


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    """What the stack deploys, on moto, with the environment it gives the saga's functions (paper mode)."""
    parameters.clear_caches()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        tables = create_local_tables(dynamodb, PREFIX)
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name=f"{PREFIX}-alerts")["TopicArn"]
        environment = {
            "ARBITER_MODE": "paper",
            "ARBITER_VENUES": '["kraken", "binance"]',
            "ARBITER_PAPER__BALANCES": '{"kraken": {"USDT": "1000"}, "binance": {"BTC": "0.05"}}',
            "ARBITER_ALERT_TOPIC_ARN": topic_arn,
            "ARBITER_GATEWAY__CREDENTIALS_SECRET_PREFIX": "test/venues/",
            **{f"ARBITER_TABLES__{key.upper()}": name for key, name in tables.items()},
            **QUIET_POWERTOOLS,
        }
        for variable, value in environment.items():
            monkeypatch.setenv(variable, value)
        exchanges = StubExchanges()
        monkeypatch.setattr(wiring, "exchange_factory", exchanges)
        clock = ManualClock(NOW)
        monkeypatch.setattr(wiring, "clock", clock)
        monkeypatch.setattr(wiring, "pause", clock.advance)
        wiring.install(None)
        wiring.forget_built()
        yield Deployed(tables, exchanges, topic_arn, environment)
        wiring.forget_built()
    parameters.clear_caches()


def opportunity() -> Opportunity:
    now = NOW
    return Opportunity(
        kind=OpportunityKind.CROSS_VENUE,
        legs=(
            Leg(venue="kraken", symbol="BTC/USDT", side=Side.BUY, amount=Decimal("0.01"), limit_price=Decimal(60_000)),
            Leg(
                venue="binance", symbol="BTC/USDT", side=Side.SELL, amount=Decimal("0.01"), limit_price=Decimal(60_100)
            ),
        ),
        expected_profit=Decimal("0.2"),
        profit_currency="USDT",
        quotes=(
            QuoteStamp(venue="kraken", symbol="BTC/USDT", timestamp=now),
            QuoteStamp(venue="binance", symbol="BTC/USDT", timestamp=now),
        ),
        detected_at=now,
    )


def invoke(folder: str, event: dict[str, Any], *, new_container: bool = True) -> dict[str, Any]:
    """One saga task as Lambda runs it; a new container builds its dependencies from nothing."""
    if new_container:
        wiring.forget_built()
    result: dict[str, Any] = load_handler(folder)(event, LocalLambdaContext(function_name=folder))
    return result


def test_paper_saga_steps_in_separate_lambdas_share_the_venue_through_dynamodb(deployed: Deployed) -> None:
    start = SagaState(execution_id="exec-wired-1", opportunity=opportunity()).model_dump(mode="json")
    prepared = invoke("saga_prepare", start)
    assert prepared["accepted"] is True, prepared["refusal"]
    placed = invoke("saga_place_legs", prepared)
    assert placed["fills"]["all_filled"] is True
    polled = invoke("saga_poll_fills", placed)  # another container: it knows the orders only from DynamoDB
    assert [leg["status"] for leg in polled["fills"]["legs"]] == [OrderStatus.CLOSED, OrderStatus.CLOSED]
    assert [Decimal(leg["filled"]) for leg in polled["fills"]["legs"]] == [Decimal("0.01"), Decimal("0.01")]
    settled = invoke("saga_settle", polled)
    assert settled["fills"]["all_filled"] is True

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    journal = DynamoExecutionJournal(dynamodb, deployed.tables["executions"], deployed.tables["orders"])
    assert journal.get("exec-wired-1").status is ExecutionStatus.SETTLED
    assert journal.pnl("exec-wired-1")["BTC"] == 0
    kraken = DynamoPaperLedger(dynamodb, deployed.tables["venue_state"], "kraken").account({})
    binance = DynamoPaperLedger(dynamodb, deployed.tables["venue_state"], "binance").account({})
    kraken_fee = Decimal("0.01") * 60_000 * Decimal("0.0026")  # kraken's recorded taker fee
    assert kraken.free == {"USDT": 1000 - 600 - kraken_fee, "BTC": Decimal("0.01")}
    assert binance.free["BTC"] == Decimal("0.04")
    assert binance.free["USDT"] == 601 - 601 * Decimal("0.001")  # binance's recorded taker fee
    assert all(credentials is None for _, credentials in deployed.exchanges.opened)  # paper: public data only
    assert ("kraken", "BTC/USDT") in deployed.exchanges.book_requests


def test_a_leg_that_missed_is_compensated_by_later_lambdas_from_the_shared_state(deployed: Deployed) -> None:
    # binance's bid fell below the sell leg's limit before the legs went out: the buy fills, the sell does not.
    deployed.exchanges.books[("binance", "BTC/USDT")] = {"bids": [[60_050.0, 1.0]], "asks": [[60_060.0, 1.0]]}
    start = SagaState(execution_id="exec-wired-2", opportunity=opportunity()).model_dump(mode="json")
    placed = invoke("saga_place_legs", invoke("saga_prepare", start))
    assert [leg["status"] for leg in placed["fills"]["legs"]] == [OrderStatus.CLOSED, OrderStatus.CANCELED]
    compensated = invoke("saga_compensate", placed)  # a new container finds the filled buy in DynamoDB
    reconciled = invoke("saga_reconcile", compensated)
    assert reconciled["reconciliation"]["flat"] is True, reconciled["reconciliation"]
    assert reconciled["reconciliation"]["open_orders"] == 0

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    journal = DynamoExecutionJournal(dynamodb, deployed.tables["executions"], deployed.tables["orders"])
    assert journal.get("exec-wired-2").status is ExecutionStatus.COMPENSATED
    accounts = [
        DynamoPaperLedger(dynamodb, deployed.tables["venue_state"], v).account({}) for v in ("kraken", "binance")
    ]
    # Flat across venues (the missing sell completed, or the buy unwound): the BTC held is what was there before.
    assert sum(account.free.get("BTC", Decimal(0)) for account in accounts) == Decimal("0.05")
    assert all(account.resting == {} and account.used == {} for account in accounts)


def test_a_container_builds_its_dependencies_once_and_a_new_one_reads_the_same_state(deployed: Deployed) -> None:
    first = wiring.saga_dependencies()
    assert wiring.saga_dependencies() is first  # later invocations of one container reuse it
    assert sorted(venue for venue, _ in deployed.exchanges.opened) == ["binance", "kraken"]  # markets loaded once
    kraken = first.gateways["kraken"]
    assert isinstance(kraken, PaperVenue)
    assert isinstance(kraken.ledger, DynamoPaperLedger)
    assert ("binance", "BTC/USDT") in first.markets
    assert first.settings.max_quote_age_ms == 2_000
    kraken.set_free({"USDT": Decimal(5)})
    wiring.forget_built()
    assert wiring.saga_dependencies().gateways["kraken"].fetch_balances().free("USDT") == Decimal(5)


def test_deployed_prepare_enforces_the_configured_risk_limits(deployed: Deployed) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    configuration = DynamoConfigurationStore(dynamodb, deployed.tables["configuration"])
    configuration.update(1, {"risk_limits": {"max_notional_per_execution": "500"}}, by="test", at_ms=1)
    start = SagaState(execution_id="exec-too-big", opportunity=opportunity()).model_dump(mode="json")
    prepared = invoke("saga_prepare", start)
    assert prepared["accepted"] is False
    assert prepared["refusal"] == "max_notional_per_execution: 601.00 USD, limit 500"  # the larger leg


def test_assets_are_valued_in_usd_from_the_venues_books(deployed: Deployed) -> None:
    dependencies = wiring.saga_dependencies()
    usd_value = dependencies.usd_value
    assert usd_value is not None
    assert dependencies.risk is not None
    assert dependencies.risk.portfolio is not None
    assert dependencies.risk.portfolio.usd_value is usd_value  # one valuation for the limits and the exposure tolerance
    assert usd_value("USDT") == 1
    # The mean of the mids of BTC/USDT on the venues listing it (kraken 59,995, binance 60,105): the one policy
    # the detector, the risk limits and the exposure tolerance share.
    assert usd_value("BTC") == Decimal(60_050)
    assert usd_value("DOGE") is None  # no venue lists it against a USD stablecoin: the risk engine refuses


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ARBITER_TABLES__VENUE_STATE", None, "ARBITER_TABLES__VENUE_STATE: not set"),
        ("ARBITER_TABLES__EXECUTIONS", None, "ARBITER_TABLES__EXECUTIONS: not set"),
        ("ARBITER_ALERT_TOPIC_ARN", None, "ARBITER_ALERT_TOPIC_ARN: not set"),
        ("ARBITER_MODE", None, "ARBITER_MODE: 'local'"),
        ("ARBITER_MODE", "local", "ARBITER_MODE: 'local'"),
        (
            "ARBITER_VENUES",
            '["kraken", "binance", "nosuchvenue"]',
            "ARBITER_VENUES: not ccxt exchange ids: nosuchvenue",
        ),
        ("ARBITER_PAPER__BALANCES", '{"kraken": {"USDT": "-1"}}', "ARBITER_PAPER__BALANCES__KRAKEN__USDT"),
    ],
)
def test_a_missing_or_invalid_variable_is_named_and_the_task_fails(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, named: str
) -> None:
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    start = SagaState(execution_id="exec-unwired", opportunity=opportunity()).model_dump(mode="json")
    with pytest.raises(WiringError, match=named):
        invoke("saga_prepare", start)
    assert deployed.exchanges.opened == []  # refused before any exchange was opened


def live(deployed: Deployed, monkeypatch: pytest.MonkeyPatch, secrets: dict[str, dict[str, str]]) -> None:
    monkeypatch.setenv("ARBITER_MODE", "live")
    client = boto3.client("secretsmanager", region_name=REGION)
    for venue, value in secrets.items():
        client.create_secret(Name=f"test/venues/{venue}", SecretString=json.dumps(value))


def test_live_mode_opens_each_venue_with_its_secret_and_shared_breakers(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    live(deployed, monkeypatch, {v: {"apiKey": f"{v}-key", "secret": f"{v}-secret"} for v in ("kraken", "binance")})
    dependencies = wiring.saga_dependencies()
    kraken = dependencies.gateways["kraken"]
    assert isinstance(kraken, CcxtGateway)
    assert kraken.breaker is not None
    assert isinstance(kraken.breaker.store, DynamoBreakerStore)
    assert kraken.breaker.store.table == deployed.tables["venue_state"]
    keys = {venue: c.api_key.get_secret_value() for venue, c in deployed.exchanges.opened if c is not None}
    assert keys == {"kraken": "kraken-key", "binance": "binance-key"}
    assert dependencies.gateways["binance"].fetch_order_book("BTC/USDT").bids[0].price == Decimal(60_100)


def test_live_mode_with_a_missing_secret_names_it_and_opens_no_venue(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    live(deployed, monkeypatch, {"kraken": {"apiKey": "k", "secret": "s"}})  # binance's secret was never put
    with pytest.raises(WiringError, match="'test/venues/binance' is not found"):
        wiring.saga_dependencies()
    assert deployed.exchanges.opened == []


def test_a_venue_that_cannot_be_opened_is_left_out_and_tried_again_by_the_next_invocation(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy = deployed.exchanges

    def binance_down(venue: str, credentials: VenueCredentials | None, timeout_ms: int) -> Any:
        if venue == "binance":
            raise ccxt.ExchangeNotAvailable("binance: 503 while loading markets")
        return healthy(venue, credentials, timeout_ms)

    monkeypatch.setattr(wiring, "exchange_factory", binance_down)
    degraded = wiring.saga_dependencies()
    assert set(degraded.gateways) == {"kraken"}  # journal, kill switch and alerts are there all the same
    degraded.kill_switch.engage("incident while binance is down", 1)
    assert degraded.kill_switch.is_engaged()

    monkeypatch.setattr(wiring, "exchange_factory", healthy)
    assert set(wiring.saga_dependencies().gateways) == {"kraken", "binance"}  # the degraded build was not kept
    assert wiring.saga_dependencies() is wiring.saga_dependencies()  # a complete one is
