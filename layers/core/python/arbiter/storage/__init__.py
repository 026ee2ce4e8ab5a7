"""Persistence: table layouts shared by the CDK stacks and the local runtime (one source of truth)."""

from arbiter.storage.schema import BY_DAY, TABLES, IndexSpec, TableSpec, table_name

__all__ = ["BY_DAY", "TABLES", "IndexSpec", "TableSpec", "table_name"]
