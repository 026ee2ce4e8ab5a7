"""The scanner's scorer: the live model's predicted P&L for each candidate, refreshed from the registry now and
then; expected profit alone (the detector's ranking, every profitable candidate) when no model is promoted, when
the live one cannot be loaded, or when it cannot score a tick's candidates. The status says which, and why: the
scanner's heartbeat reports it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from arbiter.models.time import Clock
from arbiter.scoring.dataset import model_inputs

if TYPE_CHECKING:
    from arbiter.scoring.trees import TreeModel


@dataclass(frozen=True)
class ScoringStatus:
    model: str | None
    """The live model's version while the scanner ranks by it; None: by expected profit."""
    reason: str = ""
    """Why the scanner ranks by expected profit."""

    @property
    def by_model(self) -> bool:
        return self.model is not None

    def describe(self) -> str:
        return f"by model {self.model}" if self.model else f"by expected profit ({self.reason})"


class OpportunityScorer(Protocol):
    def status(self) -> ScoringStatus: ...

    def score(self, features: Sequence[Mapping[str, float]]) -> Sequence[float] | None:
        """Predicted realised P&L in USD per candidate; None: rank by expected profit (see ``status``)."""
        ...


class ExpectedProfitScorer:
    """No model configured."""

    def __init__(self, reason: str = "no model configured") -> None:
        self._status = ScoringStatus(None, reason)

    def status(self) -> ScoringStatus:
        return self._status

    def score(self, features: Sequence[Mapping[str, float]]) -> Sequence[float] | None:
        return None


LiveModel = tuple[str, "TreeModel"]
"""(version, model)."""


class LiveModelScorer:
    """``load()`` returns the live (version, model), None when none is promoted, or raises when it cannot be
    loaded; it is called again every ``refresh_ms`` (a promotion is picked up within that), and a model that
    fails to score falls back for that tick only."""

    def __init__(self, load: Callable[[], LiveModel | None], clock: Clock, refresh_ms: int) -> None:
        self._load, self.clock, self.refresh_ms = load, clock, refresh_ms
        self._model: LiveModel | None = None
        self._loaded_at: int | None = None
        self._status = ScoringStatus(None, "no model loaded yet")

    def _refresh(self) -> None:
        now = self.clock.now_ms()
        if self._loaded_at is not None and now - self._loaded_at < self.refresh_ms:
            return
        self._loaded_at = now
        try:
            loaded = self._load()
        except Exception as error:  # noqa: BLE001 - whatever breaks the model, the scanner carries on without it
            self._model = None
            self._status = ScoringStatus(None, f"the live model cannot be loaded: {error}")
            return
        self._model = loaded
        self._status = ScoringStatus(loaded[0]) if loaded else ScoringStatus(None, "no model promoted")

    def status(self) -> ScoringStatus:
        self._refresh()
        return self._status

    def score(self, features: Sequence[Mapping[str, float]]) -> Sequence[float] | None:
        self._refresh()
        if self._model is None:
            return None
        version, model = self._model
        try:
            predicted = model.pnl.predict(model.matrix([model_inputs(f) for f in features]))
        except Exception as error:  # noqa: BLE001 - a model that cannot score must not stop the scan
            self._status = ScoringStatus(None, f"model {version} cannot score: {error}")
            return None
        self._status = ScoringStatus(version)
        return [float(p) for p in predicted]
