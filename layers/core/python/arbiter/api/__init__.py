"""The operators' API as use cases: what the REST API, the command line and the local platform can do to watch
and steer the platform (``operations`` changes, ``queries`` reads), independent of HTTP. The routes in
``functions/api`` only parse, authorize and call these."""
