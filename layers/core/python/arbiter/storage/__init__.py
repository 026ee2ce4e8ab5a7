"""Persistence: table layouts shared by the CDK stacks and the local runtime (one source of truth)."""

from arbiter.storage.schema import TABLES, TableSpec, table_name

__all__ = ["TABLES", "TableSpec", "table_name"]
