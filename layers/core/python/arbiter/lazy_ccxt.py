"""ccxt, loaded as it is used.

``import ccxt`` runs ccxt's ``__init__``, which imports every one of its ~100 exchange modules: about 0.5 s with
bytecode and 1.7 s without, on every Lambda cold start, for a deployment that trades on two or three venues.
``install()`` (run by ``arbiter/__init__.py``, before any module of ours imports ccxt) puts in ``sys.modules`` the
``ccxt`` package, made by ccxt's own spec but not yet run. Its submodules import as usual (``ccxt.base.errors``,
``ccxt.pro``); its attributes load on first use:

- an error class (``ccxt.NetworkError``) from ``ccxt.base.errors``;
- an exchange class (``ccxt.binance``) from that exchange's own module;
- any other name (``ccxt.exchanges``, ``ccxt.Exchange``, ``ccxt.__version__``) runs ccxt's real ``__init__`` into
  the same module, once.

Every name therefore resolves to the very object ccxt's own import gives (tests/unit/test_lazy_ccxt.py checks each
one against a plain ``import ccxt`` in a fresh interpreter). Standard library only: this module runs first.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_LOCK = threading.RLock()
_LOADED = "_arbiter_fully_loaded"
_NOT_EXCHANGES = frozenset(
    {"base", "abstract", "async_support", "pro", "prediction", "protobuf", "static_dependencies"}
)


class _LazyCcxt(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name not in ("__version__", "__all__"):
            raise AttributeError(name)  # introspection (copy, pickle, pytest) must not load ccxt
        with _LOCK:
            if name in self.__dict__:  # another thread loaded it meanwhile
                return self.__dict__[name]
            if not self.__dict__.get(_LOADED):
                errors = importlib.import_module("ccxt.base.errors")
                if name in errors.__all__:
                    value = getattr(errors, name)
                    setattr(self, name, value)
                    return value
                if is_exchange_id(name):
                    exchange_class = getattr(importlib.import_module(f"ccxt.{name}"), name)
                    setattr(self, name, exchange_class)  # the import bound the submodule here: ccxt binds the class
                    return exchange_class
                self._load_everything()
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'ccxt' has no attribute {name!r}") from None

    def _load_everything(self) -> None:
        self.__dict__[_LOADED] = True  # first: a name ccxt's __init__ asks for while it runs comes from its own code
        spec = self.__spec__
        assert spec is not None
        assert spec.loader is not None
        spec.loader.exec_module(self)


def install() -> None:
    """Make ``import ccxt`` lazy in this process; nothing changes if ccxt is already imported or not installed."""
    with _LOCK:
        if "ccxt" in sys.modules:
            return
        spec = importlib.util.find_spec("ccxt")
        if spec is None or spec.loader is None:
            return  # not installed: an import of it fails where it is used, as before
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _LazyCcxt
        sys.modules["ccxt"] = module


def is_exchange_id(name: str) -> bool:
    """Whether ``name`` is one of ccxt's (sync) exchanges, as ``name in ccxt.exchanges`` says, without importing
    them all: ccxt puts each exchange in a module of the same name directly under the package."""
    if not name.isidentifier() or not name.islower() or name in _NOT_EXCHANGES or name.startswith("_"):
        return False
    try:
        spec = importlib.util.find_spec(f"ccxt.{name}")
    except ImportError:
        return False
    return spec is not None and spec.submodule_search_locations is None
