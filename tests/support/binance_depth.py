"""A loopback stand-in for Binance's public spot depth stream, for real ccxt.pro clients.

It serves what ``ccxt.pro.binance().watch_order_book`` talks to: the websocket at ``/ws/{n}`` (SUBSCRIBE
requests answered with ``{"result": null, "id": ...}``, then ``depthUpdate`` diff events with ``U``/``u``) and
the REST snapshot at ``/api/v3/depth`` (``lastUpdateId``, bids, asks). A test moves each book by pushing
diffs, skips update ids to force a resync, closes connections to force a reconnect, or stays silent.
Only 127.0.0.1."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

Levels = list[tuple[str, str]]


@dataclass
class DepthBook:
    last_update_id: int
    bids: dict[str, str]
    asks: dict[str, str]

    def snapshot(self, limit: int) -> dict[str, Any]:
        bids = sorted(self.bids.items(), key=lambda kv: -float(kv[0]))[:limit]
        asks = sorted(self.asks.items(), key=lambda kv: float(kv[0]))[:limit]
        return {"lastUpdateId": self.last_update_id, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]}


@dataclass
class BinanceDepthServer:
    clock_ms: Callable[[], int]
    """The venue's clock, stamped on every event as ``E``."""
    books: dict[str, DepthBook] = field(default_factory=dict)
    snapshot_requests: int = 0
    subscriptions: int = 0
    port: int = 0
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)
    _subscribed: dict[web.WebSocketResponse, set[str]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    async def start(self) -> BinanceDepthServer:
        app = web.Application()
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/ws/{stream}", self._websocket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        await self.disconnect()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_book(self, market_id: str, bids: Levels, asks: Levels, last_update_id: int = 100) -> None:
        self.books[market_id] = DepthBook(last_update_id, dict(bids), dict(asks))

    async def push(self, market_id: str, bids: Levels = (), asks: Levels = (), *, skip: int = 0) -> None:  # type: ignore[assignment]
        """One diff event to every subscriber of the book; ``skip`` update ids are left out first (a gap)."""
        book = self.books[market_id]
        first = book.last_update_id + 1 + skip
        last = first + max(len(bids) + len(asks), 1) - 1
        for side, levels in ((book.bids, bids), (book.asks, asks)):
            for price, amount in levels:
                if float(amount) == 0:
                    side.pop(price, None)
                else:
                    side[price] = amount
        book.last_update_id = last
        event = {
            "e": "depthUpdate",
            "E": self.clock_ms(),
            "s": market_id,
            "U": first,
            "u": last,
            "b": [list(b) for b in bids],
            "a": [list(a) for a in asks],
        }
        await self.send_raw(market_id, json.dumps(event))

    async def send_raw(self, market_id: str, text: str) -> None:
        stream = f"{market_id.lower()}@depth@100ms"
        for socket, streams in list(self._subscribed.items()):
            if stream in streams and not socket.closed:
                await socket.send_str(text)

    async def flood(self, levels: int = 10) -> None:
        """Diffs of ``levels`` bids and asks on every subscribed book, as fast as the clients read them (the
        benchmarks): the prices stay, the amounts alternate, so every book stays sorted and uncrossed."""
        templates: dict[str, str] = {}
        for market_id, book in self.books.items():
            snapshot = book.snapshot(levels)
            bids = [[price, "%(a)s"] for price, _ in snapshot["bids"]]
            asks = [[price, "%(a)s"] for price, _ in snapshot["asks"]]
            templates[market_id] = (
                json.dumps(
                    {"e": "depthUpdate", "E": "%(E)d", "s": market_id, "U": "%(U)d", "u": "%(U)d", "b": bids, "a": asks}
                )
                .replace('"%(E)d"', "%(E)d")
                .replace('"%(U)d"', "%(U)d")
            )
        flip = 0
        while True:
            sent = False
            for socket, streams in list(self._subscribed.items()):
                for stream in list(streams):
                    market_id = stream.split("@")[0].upper()
                    if socket.closed or market_id not in self.books:
                        continue
                    book = self.books[market_id]
                    book.last_update_id += 1
                    flip ^= 1
                    text = templates[market_id] % {"E": self.clock_ms(), "U": book.last_update_id, "a": 1 + flip}
                    await socket.send_str(text)
                    sent = True
            await asyncio.sleep(0 if sent else 0.01)

    async def disconnect(self) -> None:
        """Close every websocket (as a venue does at maintenance or after 24 h)."""
        for socket in list(self._sockets):
            await socket.close()
        self._sockets.clear()
        self._subscribed.clear()

    def subscribers(self, market_id: str) -> int:
        stream = f"{market_id.lower()}@depth@100ms"
        return sum(stream in streams for socket, streams in self._subscribed.items() if not socket.closed)

    async def _depth(self, request: web.Request) -> web.Response:
        self.snapshot_requests += 1
        market_id = request.query["symbol"]
        if market_id not in self.books:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        limit = int(request.query.get("limit", "100"))
        return web.json_response(self.books[market_id].snapshot(limit))

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.add(socket)
        self._subscribed[socket] = set()
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                continue
            command = json.loads(message.data)
            if command.get("method") == "SUBSCRIBE":
                self._subscribed[socket].update(command["params"])
                self.subscriptions += 1
                await socket.send_str(json.dumps({"result": None, "id": command["id"]}))
        self._sockets.discard(socket)
        self._subscribed.pop(socket, None)
        return socket


def binance_markets(symbols: tuple[str, ...]) -> list[dict[str, Any]]:
    """ccxt market dicts for spot ``symbols``: the recorded BTC/USDT market, renamed for the others."""
    from tests.conftest import SHARED_FIXTURES  # (here: the benchmarks import this module without the test setup)

    recorded = json.loads((SHARED_FIXTURES / "markets" / "binance.json").read_text())["BTC/USDT"]
    markets = []
    for symbol in symbols:
        base, quote = symbol.split("/")
        market = copy.deepcopy(recorded)
        market.update(
            {
                "id": f"{base}{quote}",
                "lowercaseId": f"{base}{quote}".lower(),
                "symbol": symbol,
                "base": base,
                "quote": quote,
                "baseId": base,
                "quoteId": quote,
            }
        )
        markets.append(market)
    return markets


def point_at(exchange: Any, server: BinanceDepthServer) -> None:
    """Every websocket and REST base URL of a ccxt.pro binance at the loopback server."""
    api = exchange.urls["api"]
    for key, value in list(api["ws"].items()):
        if isinstance(value, str):
            api["ws"][key] = f"ws://127.0.0.1:{server.port}/ws"
    for key, value in list(api.items()):
        if isinstance(value, str) and value.startswith("https://"):
            path = value.split("/", 3)[3] if value.count("/") >= 3 else ""
            api[key] = f"{server.url}/{path}"


async def settle(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait until ``predicate`` holds (the client has caught up), failing after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
