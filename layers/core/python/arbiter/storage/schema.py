"""DynamoDB table layouts. The CDK stacks create these tables and the local runtime creates the same ones in
moto, so a key name lives in exactly one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index (string keys, every attribute projected)."""

    name: str
    partition_key: str
    sort_key: str


BY_DAY = IndexSpec("by_day", "day", "day_sk")
"""Executions and their P&L by UTC day: sparse, only execution headers and P&L items carry ``day``."""


@dataclass(frozen=True)
class TableSpec:
    key: str
    """Short name, used in physical names and in the ``ARBITER_TABLES__<KEY>`` variables handlers read."""
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    purpose: str = ""
    indexes: tuple[IndexSpec, ...] = ()


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "executions",
        "pk",
        "sk",
        purpose="execution headers, legs, orders and append-only audit events",
        indexes=(BY_DAY,),
    ),
    TableSpec("orders", "client_order_id", purpose="every order by its deterministic clientOrderId"),
    TableSpec("configuration", "pk", "sk", purpose="risk limits, strategies, kill switch; versioned"),
    TableSpec("opportunities", "pk", "sk", ttl_attribute="expires_at", purpose="detected opportunities"),
    TableSpec("timeseries", "pk", "sk", ttl_attribute="expires_at", purpose="market, opportunity and P&L series"),
    TableSpec("venue_state", "pk", purpose="circuit breakers and rate-limit buckets shared across invocations"),
    # Powertools' idempotency layout (its defaults: partition key ``id``, TTL ``expiration``).
    TableSpec("idempotency", "id", ttl_attribute="expiration", purpose="Powertools idempotency records"),
)


def table_name(prefix: str, spec: TableSpec) -> str:
    return f"{prefix}-{spec.key.replace('_', '-')}"
