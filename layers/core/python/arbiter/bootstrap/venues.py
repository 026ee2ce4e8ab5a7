"""Opening a venue in one call. Opening a venue either yields a working gateway or stops with a
clear error having opened nothing: an unverified venue or a missing or malformed secret is refused before any
exchange object exists."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbiter.bootstrap.credentials import load_credentials
from arbiter.gateway.ccxt.exchange import ccxt_exchange
from arbiter.gateway.ccxt.gateway import CcxtGateway, RetryPolicy
from arbiter.gateway.ccxt.venues import order_ids_for
from arbiter.gateway.paper import BookSource, PaperVenue
from arbiter.gateway.paper.faults import VenueFaults
from arbiter.gateway.resilience.breaker import BreakerSettings, CircuitBreaker
from arbiter.gateway.resilience.rate_limit import SharedRateLimiter
from arbiter.markets import markets_from_exchange
from arbiter.models import Market
from arbiter.models.time import Clock
from arbiter.settings import GatewaySettings, VenueCredentials
from arbiter.storage.breakers import BreakerStore, DynamoBreakerStore, InMemoryBreakerStore
from arbiter.storage.buckets import BucketStore, DynamoBucketStore, InMemoryBucketStore
from arbiter.storage.paper_ledger import PaperLedger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from arbiter.gateway.interface import VenueGateway

    # Both implementations satisfy the one interface: mypy proves it here.
    _CCXT: type[VenueGateway] = CcxtGateway
    _PAPER: type[VenueGateway] = PaperVenue

CredentialsProvider = Callable[[str], VenueCredentials]
"""A venue's credentials by venue id; raises ``CredentialsError`` when they are missing or malformed."""

ExchangeFactory = Callable[[str, VenueCredentials | None, int], Any]
"""(venue, credentials, request timeout in ms) -> a ccxt exchange."""


def secrets_manager_credentials(settings: GatewaySettings) -> CredentialsProvider:
    """Credentials from Secrets Manager through Powertools Parameters (cached), one secret per venue."""

    def provide(venue: str) -> VenueCredentials:
        return load_credentials(venue, settings.secret_name(venue))

    return provide


@dataclass(frozen=True)
class SharedVenueState:
    """Where breakers and rate buckets live: DynamoDB on AWS (shared by every invocation), memory in tests."""

    breakers: BreakerStore
    buckets: BucketStore

    @classmethod
    def dynamodb(cls, client: DynamoDBClient, table: str) -> SharedVenueState:
        return cls(DynamoBreakerStore(client, table), DynamoBucketStore(client, table))

    @classmethod
    def in_memory(cls) -> SharedVenueState:
        return cls(InMemoryBreakerStore(), InMemoryBucketStore())


def open_ccxt_gateway(
    venue: str,
    settings: GatewaySettings,
    credentials: CredentialsProvider | None,
    *,
    state: SharedVenueState | None = None,
    symbols: set[str] | None = None,
    ccxt_markets: Mapping[str, Any] | None = None,
    clock: Clock,
    exchange_factory: ExchangeFactory = ccxt_exchange,
    on_rate_limited: Callable[[str], None] | None = None,
) -> CcxtGateway:
    """The venue over ccxt with the failure policy, breaker and shared rate limit from ``settings``;
    ``on_rate_limited`` is told each call that ends rate limited (metrics).

    ``credentials`` None opens public market data only (paper mode's books). ``ccxt_markets`` (ccxt market
    dicts, e.g. recorded ones) spares the ``load_markets`` request; otherwise the venue's markets are loaded.
    """
    if credentials is not None:
        order_ids_for(venue)  # trading needs verified clientOrderId handling: refused before any secret is read
    secret = credentials(venue) if credentials is not None else None
    exchange = exchange_factory(venue, secret, settings.request_timeout_ms)
    if ccxt_markets is not None:
        exchange.set_markets(dict(ccxt_markets))
    markets = {m.symbol: m for m in markets_from_exchange(exchange, symbols=symbols)}
    shared = state or SharedVenueState.in_memory()
    return CcxtGateway(
        exchange,
        markets,
        clock,
        policy=RetryPolicy.from_settings(settings),
        breaker=CircuitBreaker(shared.breakers, BreakerSettings.from_settings(settings)),
        limiter=SharedRateLimiter(shared.buckets, settings.rate_per_s, settings.rate_burst),
        on_rate_limited=on_rate_limited,
    )


def open_paper_venue(
    venue: str,
    balances: Mapping[str, Decimal],
    *,
    settings: GatewaySettings | None = None,
    books: BookSource | None = None,
    markets: Mapping[str, Market] | None = None,
    faults: VenueFaults | None = None,
    clock: Clock,
    ledger: PaperLedger | None = None,
    **public: Any,
) -> PaperVenue:
    """The paper venue: on the given books and markets (local mode), or on the real venue's public books and
    markets through ccxt (paper mode: pass ``settings`` and leave ``books`` out; ``public`` goes to
    ``open_ccxt_gateway``). ``balances`` are the opening ones; ``ledger`` keeps orders and balances (process
    memory by default; ``DynamoPaperLedger`` shares them across invocations)."""
    if books is None:
        if settings is None:
            raise ValueError("settings: needed to open the real venue's books when no book source is given")
        market_data = open_ccxt_gateway(venue, settings, None, clock=clock, **public)
        books = market_data.fetch_order_book
        markets = market_data.markets if markets is None else markets
    if markets is None:
        raise ValueError("markets: a paper venue on given books needs their market definitions")
    return PaperVenue(venue, markets, books, balances, clock=clock, faults=faults, ledger=ledger)
