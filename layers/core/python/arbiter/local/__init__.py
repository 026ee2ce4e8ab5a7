"""The local runtime: the platform in one process on moto, with simulated venues."""

from arbiter.local.resources import LOCAL_PREFIX, create_local_tables

__all__ = ["LOCAL_PREFIX", "create_local_tables"]
