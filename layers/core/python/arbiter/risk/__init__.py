"""Risk controls: alerts to people when money is at risk (limits and the risk engine to come)."""
