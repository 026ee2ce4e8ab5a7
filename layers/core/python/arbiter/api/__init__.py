"""The operators' API as use cases: what the REST API, the command line and the local platform can do to watch
and steer the platform (``operations`` changes, ``queries`` reads), independent of HTTP. The routes in
``functions/api`` only parse, authorize and call these."""

CORS_ORIGIN_VARIABLE = "API_CORS_ORIGIN"
"""The environment variable the stack sets on the api function: the console's origin, the only one a browser may
call the API from (outside ``ARBITER_*``: the edge reads it, not the settings)."""
