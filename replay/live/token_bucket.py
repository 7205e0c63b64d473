"""A token bucket that paces a producer to a steady rate on an injected clock.

`TokenBucket.take(n)` blocks (through the injected `sleep`) until `n` tokens are
available, then spends them. Tokens accrue at `rate` per second up to `burst`,
so a caller that falls behind catches up by at most `burst` messages at once
and never exceeds `rate * elapsed + burst` in total. Producers take tokens in
small batches rather than one by one, so the bucket sleeps about a hundred times
a second at any rate instead of once per message.

Example (a clock that sleeping moves forward, as in tests):
    >>> now = [0.0]
    >>> bucket = TokenBucket(rate=100.0, burst=10.0, clock=lambda: now[0],
    ...                      sleep=lambda s: now.__setitem__(0, now[0] + s))
    >>> for _ in range(30):
    ...     bucket.take(1)
    >>> round(now[0], 3)  # the first 10 are the initial burst, the next 20 take 0.2 s
    0.2

"""

from __future__ import annotations

import time
from collections.abc import Callable

_ROUNDING = 1e-6


class TokenBucket:
    """Pace work to `rate` units per second, allowing bursts of up to `burst` units.

    Args:
        rate: tokens added per second; must be > 0.
        burst: most tokens the bucket holds (and its initial fill); at least 1.
        clock: a monotonic clock in seconds (`time.monotonic` in production).
        sleep: how to wait a number of seconds (`time.sleep` in production).

    Raises:
        ValueError: `rate` is not positive or `burst` is below 1.

    """

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, not {rate} and {burst}")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self._tokens = burst
        self._updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def take(self, n: int = 1) -> None:
        """Wait until `n` tokens are available, then spend them.

        Args:
            n: tokens to spend, 1..`burst`.

        Raises:
            ValueError: `n` is outside 1..`burst`, so it could never be served.

        """
        if not 1 <= n <= self.burst:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.burst}")
        self._refill()
        # The tolerance ends the wait when the remaining deficit is rounding error:
        # a sleep that short could not move a clock whose reading is large.
        while self._tokens < n - _ROUNDING:
            self.sleep((n - self._tokens) / self.rate)
            self._refill()
        self._tokens -= n
