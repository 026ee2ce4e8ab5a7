"""moto's backends are not thread-safe (a query can iterate a table while another thread writes to it), but
the saga's tasks run on moto's worker threads and send legs from several threads at once. Every mocked AWS
request goes through moto's BotocoreStubber, so serialising that one entry point makes the emulation safe;
our handlers themselves still run concurrently (Lambda invocations are answered before the stubber)."""

from __future__ import annotations

import copy
import threading
import types
from typing import Any

import moto.dynamodb.models as moto_dynamodb
from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_LOCK = threading.RLock()
_original_call = BotocoreStubber.__call__


def _serialised_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return _original_call(self, event_name, request, **kwargs)


def serialise_moto_requests() -> None:
    """Idempotent: installs the lock once per process (and the transaction rollback that relies on it)."""
    BotocoreStubber.__call__ = _serialised_call  # type: ignore[method-assign]
    _roll_back_only_touched_items()


# moto 5.2 makes TransactWriteItems undoable by deep-copying every table the transaction touches, before each
# transaction: time and memory grow with the table, so a long local run (the journal writes every change as a
# transaction) slows down quadratically and its memory balloons. Saving only the items the transaction writes
# gives the same all-or-nothing result, as long as no other request runs meanwhile (the lock above).
_original_transact = DynamoDBBackend.transact_write_items


def _deepcopy_except_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _transact_saving_touched_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
    for entry in transact_items:
        operation = next(iter(entry.values()))
        table = self.tables.get(operation.get("TableName", ""))
        if table is None:
            continue  # moto reports the missing table
        key = operation.get("Key") or operation.get("Item") or {}
        if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
            continue  # moto reports the malformed key
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
    try:
        _original_transact(self, transact_items)
    except Exception:
        for table, hash_value, range_value, item in reversed(saved):
            items: Any = table.items[hash_value] if range_value is not None else table.items
            slot = range_value if range_value is not None else hash_value
            if item is None:
                items.pop(slot, None)
            else:
                items[slot] = item
        raise


def _roll_back_only_touched_items() -> None:
    moto_dynamodb.copy = types.SimpleNamespace(deepcopy=_deepcopy_except_tables, copy=copy.copy)  # type: ignore[attr-defined,assignment]
    DynamoDBBackend.transact_write_items = _transact_saving_touched_items  # type: ignore[method-assign]
