"""``arbiter.lazy_ccxt``: importing arbiter loads no ccxt exchange; each name resolves, on use, to the very object a
plain ``import ccxt`` gives. Each case runs in a fresh interpreter (this one has ccxt imported already)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PLAIN = "import ccxt\n"
LAZY = "import arbiter, ccxt\nassert type(ccxt).__name__ == '_LazyCcxt'\n"


def _run(code: str) -> object:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _exchange_modules() -> str:
    return (
        "import json, sys\n"
        "from arbiter.lazy_ccxt import is_exchange_id\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.count('.') == 1 and m.startswith('ccxt.') "
        "and is_exchange_id(m[5:]))))\n"
    )


def test_importing_arbiter_and_its_gateway_loads_no_exchange() -> None:
    loaded = _run(
        LAZY + "import arbiter.gateway.ccxt.gateway, arbiter.markets, arbiter.bootstrap.saga\n" + _exchange_modules()
    )
    assert loaded == []


def test_an_exchange_class_loads_its_module_alone_and_is_ccxts_class() -> None:
    code = (
        LAZY
        + (
            "binance = ccxt.binance\n"
            "from ccxt.binance import binance as direct\n"
            "assert binance is direct and isinstance(binance, type) and ccxt.binance is binance\n"
            "assert issubclass(binance, ccxt.base.exchange.Exchange)\n"
        )
        + _exchange_modules()
    )
    assert _run(code) == ["ccxt.binance"]


def test_error_classes_are_ccxts_own_without_loading_exchanges() -> None:
    code = (
        LAZY
        + (
            "from ccxt.base import errors\n"
            "assert ccxt.NetworkError is errors.NetworkError and issubclass(ccxt.RequestTimeout, ccxt.NetworkError)\n"
        )
        + _exchange_modules()
    )
    assert _run(code) == []


@pytest.mark.parametrize("name", ["exchanges", "Exchange", "__version__", "decimal_to_precision", "Precise"])
def test_every_other_name_loads_ccxt_whole_and_matches_a_plain_import(name: str) -> None:
    describe = (
        f"value = getattr(ccxt, {name!r})\n"
        "print(json.dumps(value if isinstance(value, list | str) else f'{value.__module__}.{value.__qualname__}'))\n"
    )
    assert _run(LAZY + "import json\n" + describe) == _run(PLAIN + "import json\n" + describe)


def test_is_exchange_id_agrees_with_ccxts_list() -> None:
    code = PLAIN + (
        "import json, pkgutil\nfrom arbiter.lazy_ccxt import is_exchange_id\n"
        "names = [m.name for m in pkgutil.iter_modules(ccxt.__path__)] + ['errors', 'Exchange', 'nope', 'Binance']\n"
        "print(json.dumps([sorted(n for n in names if is_exchange_id(n)), sorted(ccxt.exchanges)]))\n"
    )
    ours, ccxts = _run(code)  # type: ignore[misc]
    assert ours == ccxts
    assert "binance" in ours


def test_a_name_ccxt_lacks_is_an_attribute_error() -> None:
    code = LAZY + "import json\nprint(json.dumps(hasattr(ccxt, 'no_such_exchange')))\n"
    assert _run(code) is False
