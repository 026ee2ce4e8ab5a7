"""What keeps calls to a failing or busy venue in check: a circuit breaker and a token bucket per venue, their
state shared by every invocation through the stores in ``arbiter.storage``."""
