"""Route throttling as API Gateway's HTTP API applies it: one token bucket per route, `burst` requests
deep and refilled at `rate` per second, from the template's RouteSettings / DefaultRouteSettings
(`devtools.template.route_throttles`). A request that finds its route's bucket empty is answered
`429 {"message":"Too Many Requests"}` before the authorizer runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from devtools.template import RouteThrottle


class TokenBucket:
    """`burst` tokens at first; `rate` tokens a second come back, up to `burst`; a request takes one."""

    def __init__(self, limit: RouteThrottle, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = float(limit.burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """True when a token was there (the request goes on), False when the bucket is empty (429)."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(float(self.limit.burst), self._tokens + elapsed * self.limit.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class RouteThrottling:
    """The buckets of every throttled route, by route key ("POST /v1/tokens/revoke-leaked")."""

    def __init__(self, limits: dict[str, RouteThrottle], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = dict(limits)
        self._buckets = {route_key: TokenBucket(limit, clock) for route_key, limit in limits.items()}

    def admit(self, route_key: str) -> bool:
        """Whether a request to this route may go on now (it takes a token of the route's bucket)."""
        bucket = self._buckets.get(route_key)
        return bucket is None or bucket.take()
