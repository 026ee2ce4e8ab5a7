"""docs/monitoring.md lists every alarm, metric and widget of the catalog (the note operators read)."""

from __future__ import annotations

from arbiter.monitoring.catalog import ALARMS, BUSINESS_WIDGETS, COMPOSITE_ALARMS, METRICS, PLATFORM_ALARMS
from tests.conftest import REPO_ROOT


def test_the_monitoring_doc_names_everything_in_the_catalog() -> None:
    doc = (REPO_ROOT / "docs" / "monitoring.md").read_text(encoding="utf-8").lower()
    names = [
        *(f"`{a.id}`" for a in (*ALARMS, *PLATFORM_ALARMS, *COMPOSITE_ALARMS)),
        *(f"`{m.name}`" for m in METRICS),
        *(w.title for w in BUSINESS_WIDGETS),
    ]
    missing = [name for name in names if name.lower() not in doc]
    assert missing == []
