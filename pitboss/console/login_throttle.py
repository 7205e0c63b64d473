"""Failed-login rate limiting: a few tries per user name and per client, then a pause.

After `max_failures` failed logins within `window_s` for one user name, or
`max_client_failures` from one client address (higher: several people can share an
address behind a proxy), further attempts for that name or from that address are refused
(without checking the password) until the oldest failure leaves the window. The
clock is injected, so tests move time instead of sleeping.

Example:
    >>> now = [0.0]
    >>> throttle = LoginThrottle(max_failures=2, max_client_failures=4, window_s=60,
    ...                          clock=lambda: now[0])
    >>> throttle.failed("rita", "10.0.0.1"); throttle.failed("rita", "10.0.0.2")
    >>> throttle.blocked("rita", "10.0.0.3")
    True
    >>> now[0] = 61.0
    >>> throttle.blocked("rita", "10.0.0.3")
    False

"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


class LoginThrottle:
    """Count failed logins per user name and per client address in a sliding window.

    Args:
        max_failures: failures allowed per user name in the window.
        max_client_failures: failures allowed per client address in the window.
        window_s: the window's length in seconds.
        clock: monotonic seconds.

    """

    def __init__(
        self, max_failures: int = 5, max_client_failures: int = 20, window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.max_failures = max_failures
        self.max_client_failures = max_client_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, name: str, client: str) -> bool:
        """Return True while the name or the client has used up its failures."""
        with self._lock:
            user_key, client_key = _keys(name, client)
            return (self._recent(user_key) >= self.max_failures
                    or self._recent(client_key) >= self.max_client_failures)

    def failed(self, name: str, client: str) -> None:
        """Record one failed login for the name and the client."""
        with self._lock:
            now = self._clock()
            for key in _keys(name, client):
                self._failures[key].append(now)

    def succeeded(self, name: str) -> None:
        """Forget a name's failures after a successful login (the client's stay)."""
        with self._lock:
            self._failures.pop(f"user:{name}", None)

    def _recent(self, key: str) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        horizon = self._clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        return len(times)


def _keys(name: str, client: str) -> tuple[str, str]:
    return f"user:{name}", f"client:{client}"
