"""Valuing assets in US dollars: the one unit in which limits and tolerances mean the same for every asset."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

USD_STABLE = frozenset({"USD", "USDT", "USDC"})
"""Counted one for one as US dollars (their de-peg risk is the risk limits' concern, not the valuation's)."""

UsdValue = Callable[[str], Decimal | None]
"""The USD value of one unit of an asset, or None when it cannot be valued now."""
