"""Arbiter's domain package."""

from arbiter import lazy_ccxt

# Before any module of ours imports ccxt: only the exchanges a deployment uses are loaded (see arbiter.lazy_ccxt).
lazy_ccxt.install()
