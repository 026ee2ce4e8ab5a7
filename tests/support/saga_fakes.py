"""In-memory stand-ins for the saga's ports, recording everything so tests can assert from their own state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Alerts:
    published: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    def publish(self, subject: str, message: Mapping[str, Any]) -> None:
        self.published.append((subject, message))
