"""What Arbiter measures and when someone must be told: the one catalog of metrics, alarms and dashboard widgets
(read by CDK and by the local evaluator), and the evaluator of its alarms on captured data points."""

from arbiter.monitoring.catalog import ALARMS, BUSINESS_WIDGETS, COMPOSITE_ALARMS, METRICS, NAMESPACE, Metric
from arbiter.monitoring.evaluator import AlarmEvaluator, AlarmHistory, DataPoint, emf_data_points

__all__ = [
    "ALARMS",
    "BUSINESS_WIDGETS",
    "COMPOSITE_ALARMS",
    "METRICS",
    "NAMESPACE",
    "AlarmEvaluator",
    "AlarmHistory",
    "DataPoint",
    "Metric",
    "emf_data_points",
]
