"""Errors raised while building or looking up markets."""

from __future__ import annotations


class MarketDefinitionError(ValueError):
    """A ccxt market dict that cannot become a Market; names the venue, the symbol and the field."""

    def __init__(self, venue: str, symbol: str, field: str, problem: str) -> None:
        self.venue, self.symbol, self.field, self.problem = venue, symbol, field, problem
        super().__init__(f"{venue} {symbol}: {field}: {problem}")


class UnknownMarketError(KeyError):
    def __init__(self, venue: str, symbol: str) -> None:
        self.venue, self.symbol = venue, symbol
        super().__init__(f"{venue} {symbol}: unknown market")

    def __str__(self) -> str:
        return str(self.args[0])
