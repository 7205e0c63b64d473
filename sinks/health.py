"""A live worker's HTTP endpoints: `/metrics`, `/healthz` and `/readyz`.

`WorkerHealth` is what readiness is judged on: the worker's stage (starting,
running, stopping), when it last reached the Kafka brokers, and whether the input
it read has been committed in an epoch. The worker's parts report to it (start-up
checks, the lag probe, the consumer's positions, the sink's epoch checkpoints and
the input partitions' epoch snapshots), and `verdict()` reads it. `endpoints_app`
composes prometheus-client's WSGI app with the two probes behind a small router;
`serve_endpoints` runs it on a daemon thread with the standard library's WSGI
server, as prometheus-client's own `start_http_server` does.

| path | answer |
|---|---|
| `/healthz` | 200 `{"alive": true}` while the process serves HTTP |
| `/readyz` | 200 when ready, else 503; JSON with `ready`, `stage` and a short `reason` |
| `/metrics` | the Prometheus registry |
| anything else | 404 |

Example:
    >>> health = WorkerHealth(max_age_s=60.0, clock=lambda: 100.0)
    >>> health.verdict().reason
    'starting'
    >>> health.running()
    >>> health.broker_contact()
    >>> health.verdict().ready
    True
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import orjson
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of `/readyz`: ready or not, the stage, and why."""

    ready: bool
    stage: str
    reason: str
    epoch_age_s: float | None = None

    def as_json(self) -> bytes:
        """Return the JSON body of `/readyz`."""
        body: dict[str, Any] = {"ready": self.ready, "stage": self.stage, "reason": self.reason}
        if self.epoch_age_s is not None:
            body["last_epoch_age_s"] = round(self.epoch_age_s, 3)
        return orjson.dumps(body)


class WorkerHealth:
    """What a live worker knows about its own readiness, updated by its parts.

    Ready means: the dataflow runs (not starting, not stopping), the Kafka brokers
    answered within `max_age_s`, and no input read has waited longer than
    `max_age_s` for an epoch to be committed. An idle worker is ready: with nothing
    read there is nothing to commit.

    Args:
        max_age_s: the longest silence of the brokers, and the longest wait of read
            input for an epoch, that still count as ready.
        clock: monotonic seconds; tests pass their own.

    """

    def __init__(
        self, max_age_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age_s = max_age_s
        self.clock = clock
        self.stage = "starting"
        self.detail = ""
        self._broker_contact: float | None = None
        self._epoch_closed: float | None = None
        self._input_waiting_since: float | None = None
        self._judges_epochs = False

    def waiting_for(self, what: str) -> None:
        """Record that start-up waits for a dependency (named in `/readyz`)."""
        self.stage, self.detail = "starting", f"waiting for {what}"

    def running(self, judges_epochs: bool = True) -> None:
        """Record that the dataflow runs.

        Args:
            judges_epochs: whether this process closes epochs over the input it
                reads: true with one process; in a cluster it becomes true once this
                process reports an epoch (`epoch_closed`).

        """
        self.stage, self.detail = "running", ""
        self._judges_epochs = judges_epochs

    def judge_epochs(self) -> None:
        """Record that this process closes epochs over its input (it owns the outputs)."""
        self._judges_epochs = True

    def stopping(self) -> None:
        """Record that a stop was requested or the dataflow ended."""
        self.stage, self.detail = "stopping", ""

    def broker_contact(self) -> None:
        """Record that a Kafka broker answered just now."""
        self._broker_contact = self.clock()

    def input_read(self) -> None:
        """Record that input was read (it waits for the next epoch commit)."""
        now = self.clock()
        self._broker_contact = now
        if self._input_waiting_since is None:
            self._input_waiting_since = now

    def epoch_closed(self) -> None:
        """Record that an epoch closed: everything read so far is in it."""
        self._epoch_closed = self.clock()
        self._input_waiting_since = None
        self.judge_epochs()

    def epoch_age_s(self) -> float | None:
        """Return the seconds since the last epoch closed, or None before the first."""
        closed = self._epoch_closed
        return None if closed is None else self.clock() - closed

    def verdict(self) -> Verdict:
        """Return whether the worker is ready, and why not."""
        if self.stage != "running":
            reason = f"{self.stage}: {self.detail}" if self.detail else self.stage
            return Verdict(False, self.stage, reason, self.epoch_age_s())
        now = self.clock()
        problem = self._broker_problem(now) or self._epoch_problem(now)
        return Verdict(problem is None, self.stage, problem or "ok", self.epoch_age_s())

    def _broker_problem(self, now: float) -> str | None:
        if self._broker_contact is None:
            return "no answer from the Kafka brokers yet"
        silent_s = now - self._broker_contact
        if silent_s > self.max_age_s:
            return f"no answer from the Kafka brokers for {silent_s:.0f} s"
        return None

    def _epoch_problem(self, now: float) -> str | None:
        waiting = self._input_waiting_since
        if not self._judges_epochs or waiting is None or now - waiting <= self.max_age_s:
            return None
        return f"input read {now - waiting:.0f} s ago is in no committed epoch yet"


def endpoints_app(registry: CollectorRegistry, health: WorkerHealth) -> WSGIApplication:
    """Return the WSGI app serving `/metrics`, `/healthz` and `/readyz` (404 elsewhere).

    Args:
        registry: the Prometheus registry `/metrics` exposes.
        health: what `/readyz` judges.

    Returns:
        A WSGI application.

    """
    metrics = make_wsgi_app(registry)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            return _json(start_response, 200, b'{"alive":true}')
        if path == "/readyz":
            verdict = health.verdict()
            return _json(start_response, 200 if verdict.ready else 503, verdict.as_json())
        return _json(start_response, 404, b'{"error":"not found: try /metrics, /healthz, /readyz"}')

    return app


def _json(start_response: StartResponse, status: int, body: bytes) -> list[bytes]:
    phrase = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start_response(f"{status} {phrase}", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])  # fmt: skip
    return [body]


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print a line per request (probes come every few seconds)."""

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


class EndpointServer:
    """A running endpoints server; `close()` stops it.

    Args:
        app: the WSGI application to serve.
        host: the address to bind (`0.0.0.0`, `127.0.0.1`, `::`, a host name).
        port: the port; 0 picks a free one (see `port`).

    Raises:
        OSError: the address cannot be bound (e.g. the port is in use).

    """

    def __init__(self, app: WSGIApplication, host: str, port: int) -> None:
        family, address = _family(host, port)

        class Server(ThreadingWSGIServer):
            address_family = family

        self._server = make_server(address, port, app, Server, handler_class=_QuietHandler)
        self.port: int = self._server.server_port
        # A short poll interval: `close()` (at every worker exit) waits up to one.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="pitboss-endpoints", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()


def _family(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    """Return the address family and address to bind for `host` (IPv4 or IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, sockaddr = infos[0]
    return family, str(sockaddr[0])


def serve_endpoints(
    registry: CollectorRegistry, health: WorkerHealth, host: str, port: int
) -> EndpointServer:
    """Serve `/metrics`, `/healthz` and `/readyz` on `host:port` from a daemon thread.

    Example:
        >>> server = serve_endpoints(CollectorRegistry(), WorkerHealth(), "127.0.0.1", 0)
        >>> import urllib.request
        >>> urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz").read()
        b'{"alive":true}'
        >>> server.close()

    """
    return EndpointServer(endpoints_app(registry, health), host, port)
