"""Opportunity detection: cross-venue pairs and triangles, screened with numpy, sized exactly through depth."""

from arbiter.detection.books import BookSnapshot, OrderBookSet
from arbiter.detection.detector import Detector, ScanResult
from arbiter.detection.incremental import IncrementalDetector
from arbiter.detection.index import DetectionIndex

__all__ = [
    "BookSnapshot",
    "DetectionIndex",
    "Detector",
    "IncrementalDetector",
    "OrderBookSet",
    "ScanResult",
]
