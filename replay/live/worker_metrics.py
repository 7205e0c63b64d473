"""Read a live worker's Prometheus endpoint into a small summary for the demo and benchmarks.

`parse_metrics` turns the text exposition format (what `pitboss.sinks.metrics.LiveMetrics`
serves) into `WorkerMetrics`: events in by topic, rejected by reason, decisions
by kind and status, and the consumer lag summed over partitions. `scrape` fetches
it over HTTP and returns None while the worker is not serving yet.

Example:
    >>> text = '''
    ... pitboss_events_in_total{topic="bets"} 7.0
    ... pitboss_consumer_lag{topic="bets",partition="0"} 2.0
    ... pitboss_consumer_lag{topic="bets",partition="1"} 3.0
    ... pitboss_decisions_total{kind="offer",status="suppressed"} 1.0
    ... '''
    >>> metrics = parse_metrics(text)
    >>> metrics.events_in, metrics.consumer_lag, metrics.decisions
    (7, 5, {('offer', 'suppressed'): 1})

"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

EVENTS_IN = "pitboss_events_in_total"
REJECTED = "pitboss_events_rejected_total"
DECISIONS = "pitboss_decisions_total"
CONSUMER_LAG = "pitboss_consumer_lag"


@dataclass(slots=True)
class WorkerMetrics:
    """A snapshot of the worker's counters that the demo shows."""

    events_in_by_topic: dict[str, int] = field(default_factory=dict)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    decisions: dict[tuple[str, str], int] = field(default_factory=dict)
    """(kind, status) -> count."""
    consumer_lag: int | None = None
    """Messages not yet read, summed over partitions; None before the first probe."""

    @property
    def events_in(self) -> int:
        """Raw messages read, all topics."""
        return sum(self.events_in_by_topic.values())

    @property
    def rejected(self) -> int:
        """Dead letters, all reasons (duplicates and late included)."""
        return sum(self.rejected_by_reason.values())


def parse_metrics(text: str) -> WorkerMetrics:
    """Summarise a Prometheus text exposition of `pitboss.sinks.metrics.LiveMetrics`.

    Args:
        text: the body of `/metrics`.

    Returns:
        The counters the demo shows; series it does not know are ignored.

    """
    metrics = WorkerMetrics()
    lag = 0.0
    lag_seen = False
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == EVENTS_IN:
                metrics.events_in_by_topic[labels["topic"]] = int(value)
            elif name == REJECTED:
                metrics.rejected_by_reason[labels["reason"]] = int(value)
            elif name == DECISIONS:
                metrics.decisions[(labels["kind"], labels["status"])] = int(value)
            elif name == CONSUMER_LAG:
                lag += value
                lag_seen = True
    metrics.consumer_lag = int(lag) if lag_seen else None
    return metrics


def scrape(url: str, timeout_s: float = 1.0) -> WorkerMetrics | None:
    """Fetch and summarise the worker's metrics.

    Args:
        url: e.g. `http://127.0.0.1:9464/metrics`.
        timeout_s: how long to wait for the answer.

    Returns:
        The summary, or None when the endpoint does not answer (worker starting or gone).

    """
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return parse_metrics(response.read().decode())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
