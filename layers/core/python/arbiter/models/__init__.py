"""Domain models shared by every concern. Amounts and prices are ``Decimal`` wherever they reach a venue
or a record."""

from arbiter.models.balance import Balance, Balances
from arbiter.models.common import Asset, Side, Symbol, TimestampMs, VenueId
from arbiter.models.execution import CompensationStrategy, Execution, ExecutionStatus
from arbiter.models.market import Market, PrecisionMode
from arbiter.models.opportunity import Leg, Opportunity, OpportunityKind, QuoteStamp
from arbiter.models.order import (
    Fee,
    IntentClaim,
    Order,
    OrderIntent,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    OrderType,
    SendState,
    TimeInForce,
    derive_client_order_id,
)
from arbiter.models.order_book import BookLevel, OrderBook, Sweep
from arbiter.models.trade import OrderAck, Ticker, Trade

__all__ = [
    "Asset",
    "Balance",
    "Balances",
    "BookLevel",
    "CompensationStrategy",
    "Execution",
    "ExecutionStatus",
    "Fee",
    "IntentClaim",
    "Leg",
    "Market",
    "Opportunity",
    "OpportunityKind",
    "Order",
    "OrderAck",
    "OrderBook",
    "OrderIntent",
    "OrderRecord",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "PrecisionMode",
    "QuoteStamp",
    "SendState",
    "Side",
    "Sweep",
    "Symbol",
    "Ticker",
    "TimeInForce",
    "TimestampMs",
    "Trade",
    "VenueId",
    "derive_client_order_id",
]
