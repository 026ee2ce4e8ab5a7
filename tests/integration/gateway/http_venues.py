"""Coinbase and kraken at the HTTP level, behind real ccxt (its ``fetch`` replaced, as in the replay tests):
the venue keeps each order under its own id with the client order id the request actually carried, answers
with the payload shapes of ccxt's recorded responses, and can lose a request or its answer on cue. ccxt builds
every request and parses every answer itself, so what these venues see is what the real ones would."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import ccxt

from arbiter.gateway.ccxt.replay import OFFLINE_CREDENTIALS, OFFLINE_OPTIONS
from tests.conftest import SHARED_FIXTURES

TIMEOUT_BEFORE = "before"  # the request never reached the venue
TIMEOUT_AFTER = "after"  # the venue acted, the answer was lost


class HttpVenue:
    """``faults`` maps an endpoint kind ("create", "read", "cancel") to the outcomes of its next calls."""

    def __init__(
        self, venue: str, faults: dict[str, list[str | None]] | None = None, *, fills_after_read: bool = False
    ) -> None:
        self.venue = venue
        self.fills_after_read = fills_after_read
        """Orders rest open at first and fill right after the venue answers the next read (kraken only)."""
        self.faults = {kind: list(queue) for kind, queue in (faults or {}).items()}
        self.orders: dict[str, dict[str, Any]] = {}
        """The venue's orders by its own id, in its own format."""
        self.client_ids: list[str | None] = []
        self.create_forms: list[dict[str, str]] = []
        """Every order-creating request as the venue received it (kraken's form fields)."""
        """The client order id each accepted create carried."""
        self.requests: list[str] = []

    def exchange(self) -> Any:
        exchange = getattr(ccxt, self.venue)({**OFFLINE_CREDENTIALS, "options": dict(OFFLINE_OPTIONS)})
        markets = json.loads((SHARED_FIXTURES / "markets" / f"{self.venue}.json").read_text(encoding="utf-8"))
        exchange.set_markets(markets)
        exchange.fetch = self.fetch
        return exchange

    def _fault(self, kind: str) -> str | None:
        queue = self.faults.get(kind) or []
        return queue.pop(0) if queue else None

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parts = urlsplit(url)
        path = parts.path
        self.requests.append(f"{method} {path}")
        if self.venue == "coinbase":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            payload = json.loads(body) if body else {}
            kind, handler = self._coinbase(method, path, query, payload)
        else:
            form = {k: v[0] for k, v in parse_qs(body or parts.query).items()}
            kind, handler = self._kraken(path, form)
        fault = self._fault(kind)
        if fault == TIMEOUT_BEFORE:
            raise ccxt.RequestTimeout(f"{self.venue} {path}: timed out before reaching the venue")
        answer = copy.deepcopy(handler())  # a snapshot: the venue's orders change after it answers
        if kind == "read" and self.fills_after_read:
            for order in self.orders.values():
                order.update(status="closed", vol_exec=order["vol"])
        if fault == TIMEOUT_AFTER:
            raise ccxt.RequestTimeout(f"{self.venue} {path}: answer lost after the venue acted")
        return answer

    # -- coinbase advanced trade ------------------------------------------------------------------------
    def _coinbase(self, method: str, path: str, query: dict[str, str], payload: dict[str, Any]) -> tuple[str, Any]:
        base = "/api/v3/brokerage/orders"
        if method == "POST" and path == base:
            return "create", lambda: self._coinbase_create(payload)
        if path == f"{base}/batch_cancel":
            return "cancel", lambda: {"results": [{"success": True, "order_id": i} for i in payload["order_ids"]]}
        if path == f"{base}/historical/batch":
            return "read", lambda: self._coinbase_list(query)
        order_id = path.rsplit("/", 1)[-1]
        return "read", lambda: self._coinbase_get(order_id)

    def _coinbase_create(self, payload: dict[str, Any]) -> dict[str, Any]:
        order_id = f"cb-{len(self.orders) + 1:04d}"
        config = payload["order_configuration"]["sor_limit_ioc"]
        size, price = Decimal(config["base_size"]), Decimal(config["limit_price"])
        self.client_ids.append(payload["client_order_id"])
        self.orders[order_id] = {
            "order_id": order_id,
            "product_id": payload["product_id"],
            "side": payload["side"],
            "client_order_id": payload["client_order_id"],
            "status": "FILLED",
            "time_in_force": "IMMEDIATE_OR_CANCEL",
            "created_time": "2026-01-01T00:00:00.000Z",
            "order_configuration": payload["order_configuration"],
            "filled_size": str(size),
            "average_filled_price": str(price),
            "total_fees": str(size * price * Decimal("0.006")),
            "order_type": "LIMIT",
        }
        return {
            "success": True,
            "success_response": {
                "order_id": order_id,
                "product_id": payload["product_id"],
                "side": payload["side"],
                "client_order_id": payload["client_order_id"],
            },
            "order_configuration": payload["order_configuration"],
        }

    def _coinbase_list(self, query: dict[str, str]) -> dict[str, Any]:
        orders = [o for o in reversed(self.orders.values()) if o["product_id"] == query.get("product_id")]
        return {"orders": orders[: int(query.get("limit", 100))], "has_next": False, "cursor": ""}

    def _coinbase_get(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.orders:
            raise ccxt.OrderNotFound(f"coinbase: no order {order_id}")  # ccxt's reading of the venue's 404
        return {"order": self.orders[order_id]}

    # -- kraken spot ------------------------------------------------------------------------------------
    def _kraken(self, path: str, form: dict[str, str]) -> tuple[str, Any]:
        endpoint = path.rsplit("/", 1)[-1]
        if endpoint == "Depth":  # public: a two-level book
            book = {"asks": [["70.60", "5.0", 1767225600]], "bids": [["70.40", "3.0", 1767225600]]}
            return "book", lambda: {"error": [], "result": {form.get("pair") or "LTCUSDT": book}}
        if endpoint == "AddOrder":
            return "create", lambda: self._kraken_add(form)
        if endpoint == "CancelOrder":
            return "cancel", lambda: {"error": [], "result": {"count": 1}}
        if endpoint == "QueryOrders":
            txid = form.get("txid", "")
            return "read", lambda: {"error": [], "result": {txid: self.orders[txid]} if txid in self.orders else {}}
        status = "open" if endpoint == "OpenOrders" else "closed"
        return "read", lambda: {"error": [], "result": {status: self._kraken_matching(status, form)}}

    def _kraken_add(self, form: dict[str, str]) -> dict[str, Any]:
        txid = f"O{len(self.orders) + 1:05d}-AAAAA-BBBBBB"
        volume, price = Decimal(form["volume"]), Decimal(form["price"])
        self.client_ids.append(form.get("cl_ord_id"))
        self.create_forms.append(form)
        self.orders[txid] = {
            "refid": None,
            "userref": 0,
            "cl_ord_id": form.get("cl_ord_id"),
            "status": "open" if self.fills_after_read else "closed",
            "opentm": 1767225600.0,
            "starttm": 0,
            "expiretm": 0,
            "descr": {
                "pair": form["pair"],
                "type": form["type"],
                "ordertype": form["ordertype"],
                "price": str(price),
                "price2": "0",
                "leverage": "none",
                "order": f"{form['type']} {volume} {form['pair']} @ limit {price}",
                "close": "",
            },
            "vol": str(volume),
            "vol_exec": "0" if self.fills_after_read else str(volume),
            "cost": str(volume * price),
            "fee": str(volume * price * Decimal("0.0026")),
            "price": str(price),
            "stopprice": "0",
            "limitprice": "0",
            "misc": "",
            "oflags": "fciq",
        }
        return {"error": [], "result": {"txid": [txid], "descr": {"order": self.orders[txid]["descr"]["order"]}}}

    def _kraken_matching(self, status: str, form: dict[str, str]) -> dict[str, Any]:
        wanted = form.get("cl_ord_id")
        return {
            txid: order
            for txid, order in self.orders.items()
            if order["status"] == status and (wanted is None or order["cl_ord_id"] == wanted)
        }
