"""Every setting in one place: environment variables ``ARBITER_*``, nested with ``__``."""

from arbiter.settings.detection import DetectionSettings
from arbiter.settings.execution import ExecutionSettings
from arbiter.settings.gateway import GatewaySettings
from arbiter.settings.model import (
    ENV_PREFIX,
    MarketSettings,
    Mode,
    PaperSettings,
    Settings,
    SettingsError,
    SimulationSettings,
    VenueCredentials,
    load_settings,
)
from arbiter.settings.reconcile import ReconcileSettings
from arbiter.settings.scanner import ScannerSettings
from arbiter.settings.scoring import ScoringSettings
from arbiter.settings.storage import StorageSettings

__all__ = [
    "ENV_PREFIX",
    "DetectionSettings",
    "ExecutionSettings",
    "GatewaySettings",
    "MarketSettings",
    "Mode",
    "PaperSettings",
    "ReconcileSettings",
    "ScannerSettings",
    "ScoringSettings",
    "Settings",
    "SettingsError",
    "SimulationSettings",
    "StorageSettings",
    "VenueCredentials",
    "load_settings",
]
