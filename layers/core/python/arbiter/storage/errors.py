"""Storage errors."""

from __future__ import annotations


class ExecutionNotFoundError(KeyError):
    def __str__(self) -> str:
        return f"execution {self.args[0]} not found"


class StorageConflictError(RuntimeError):
    """A conditional write lost a race (another writer got there first); nothing was written."""
