"""The scanner: one shard of the universe per run, books from a book source, opportunities detected
incrementally, pre-checked, persisted with their features and started as executions named by their ids."""

from arbiter.scanner.ports import CountingScannerMetrics, ScannerMetrics
from arbiter.scanner.run import RunReport, ShardStores, run_shard
from arbiter.scanner.scanner import Decision, ScannerDependencies, ShardScanner, TickReport
from arbiter.scanner.shards import Shard, plan_shards, shard_books, shards_needed

__all__ = [
    "CountingScannerMetrics",
    "Decision",
    "RunReport",
    "ScannerDependencies",
    "ScannerMetrics",
    "Shard",
    "ShardScanner",
    "ShardStores",
    "TickReport",
    "plan_shards",
    "run_shard",
    "shard_books",
    "shards_needed",
]
