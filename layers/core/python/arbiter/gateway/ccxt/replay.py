"""Replaying ccxt's recorded exchange responses through real ccxt, offline (see the shared fixtures' SOURCE.md):
the recorded markets are loaded first, ``exchange.fetch`` returns the recorded HTTP body, and ccxt's own parser
produces the unified structure our gateway then maps."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ccxt

# Credentials the recorded cases were signed with (ccxt's own offline test harness); kraken decodes its secret
# as base64, which 'secretsecret' is.
OFFLINE_CREDENTIALS = {
    "apiKey": "key",
    "secret": "secretsecret",
    "password": "password",
    "uid": "uid",
    "token": "token",
    "login": "login",
    "accountId": "12345",
    "walletAddress": "wallet",
    "privateKey": "0x" + "00" * 31 + "01",
    "enableRateLimit": False,
}
OFFLINE_OPTIONS = {
    "enableUnifiedAccount": True,
    "enableUnifiedMargin": False,
    "leverageBrackets": {},
    "accessToken": "token",
    "expires": 999999999999999,
}
GATEWAY_METHODS = (
    "fetchOrderBook",
    "createOrder",
    "cancelOrder",
    "fetchOrder",
    "fetchOpenOrders",
    "fetchBalance",
    "fetchMyTrades",
    "fetchTicker",
)


@dataclass(frozen=True)
class RecordedCase:
    venue: str
    method: str
    description: str
    input: list[Any]
    http_response: Any
    http_response_by_url: dict[str, Any] | None
    parsed: Any
    options: dict[str, Any]
    file_options: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.venue}.{self.method}: {self.description}"


def recorded_cases(fixtures: Path) -> Iterator[RecordedCase]:
    """Every enabled case of the methods the gateway uses, in every ``response/<venue>.json``."""
    for path in sorted((fixtures / "response").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        venue = str(data.get("exchange") or path.stem)
        for method in GATEWAY_METHODS:
            for case in data.get("methods", {}).get(method, []):
                if case.get("disabled"):
                    continue
                yield RecordedCase(
                    venue=venue,
                    method=method,
                    description=str(case.get("description", "")),
                    input=list(case.get("input", [])),
                    http_response=case.get("httpResponse"),
                    http_response_by_url=case.get("httpResponseByUrl"),
                    parsed=case.get("parsedResponse"),
                    options=dict(case.get("options") or {}),
                    file_options=dict(data.get("options") or {}),
                )


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        merged[key] = (
            _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def replay(case: RecordedCase, fixtures: Path) -> Any:
    """Run the case's method on an offline ccxt exchange answering with the recorded body."""
    exchange = getattr(ccxt, case.venue)({**OFFLINE_CREDENTIALS, "options": dict(OFFLINE_OPTIONS)})
    markets = json.loads((fixtures / "markets" / f"{case.venue}.json").read_text(encoding="utf-8"))
    exchange.set_markets(markets)  # before the call: otherwise load_markets would hit the stubbed transport
    exchange.options = _merge(_merge(exchange.options, case.file_options), case.options)

    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        if case.http_response_by_url:
            for fragment, response in case.http_response_by_url.items():
                if fragment in url:
                    return response
            return next(iter(case.http_response_by_url.values()))
        return case.http_response

    exchange.fetch = fetch
    return getattr(exchange, case.method)(*case.input)
