"""Risk controls: the risk engine's limits, balances cached with their age, and alerts to people (SNS)."""
