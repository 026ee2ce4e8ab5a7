"""The composition root: the one place that builds the object graph from settings and explicit parameters
(clock, exchanges, stores, valuation, metrics, alerts), for the Lambda handlers and for the local platform
alike. Nothing in the domain imports it; it imports the domain and its adapters."""
