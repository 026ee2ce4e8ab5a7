"""A token bucket per venue shared by every invocation (DynamoDB, conditional writes): ccxt's limiter paces
one process, this one paces all concurrent Lambdas together, so a burst of sagas cannot get the account
banned. Tokens refill at ``rate_per_s`` up to ``capacity``; a caller that finds none is told how long to wait."""

from __future__ import annotations

from arbiter.storage.buckets import Bucket, BucketStore


class SharedRateLimiter:
    def __init__(self, store: BucketStore, rate_per_s: float, capacity: float) -> None:
        if rate_per_s <= 0 or capacity < 1:
            raise ValueError(f"rate_per_s must be > 0 and capacity >= 1, got {rate_per_s} and {capacity}")
        self.store, self.rate_per_s, self.capacity = store, rate_per_s, capacity

    def try_acquire(self, venue: str, now_ms: int, cost: float = 1.0) -> float:
        """Take ``cost`` tokens: 0.0 when granted, else the seconds to wait before asking again."""
        for _ in range(20):  # a lost race is re-read, never double-spent
            bucket = self.store.get(venue) or Bucket(tokens=self.capacity, updated_ms=now_ms)
            elapsed_s = max(0, now_ms - bucket.updated_ms) / 1000
            tokens = min(self.capacity, bucket.tokens + elapsed_s * self.rate_per_s)
            if tokens < cost:
                return (cost - tokens) / self.rate_per_s
            taken = Bucket(tokens=tokens - cost, updated_ms=max(now_ms, bucket.updated_ms), version=bucket.version + 1)
            if self.store.replace(venue, taken):
                return 0.0
        return 1.0 / self.rate_per_s
