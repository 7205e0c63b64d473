"""How the live demo shows itself: a rich live view on a terminal, plain lines otherwise.

`render_frame` builds the terminal view of one `DemoFrame`: throughput, the
worker's backlog and consumer lag, dead letters, decisions by kind and status,
actions read back by kind, and the latest actions. `plain_line` is the same
frame as one log line for pipes and CI. `render_summary` is the end-of-run
report, with the commands that look further into the run's ClickHouse store.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table

from pitboss.replay.live.demo import DemoFrame, DemoResult
from pitboss.replay.live.worker_metrics import WorkerMetrics

QUERIES = (
    "SELECT kind, action, status, count() AS n FROM decisions FINAL "
    "GROUP BY kind, action, status ORDER BY kind, action, status",
    "SELECT reason, count() AS n FROM rejected_events GROUP BY reason ORDER BY n DESC",
    "SELECT player_id, max(as_of) AS last_seen, argMax(net_loss_24h, as_of) AS net_loss_24h "
    "FROM player_features FINAL GROUP BY player_id ORDER BY net_loss_24h DESC LIMIT 10",
)


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _remaining(frame: DemoFrame) -> str:
    if not frame.seconds:
        return "until Ctrl-C"
    return f"{max(0.0, frame.seconds - frame.elapsed_s):.0f} s left"


def _throughput(frame: DemoFrame) -> Table:
    metrics = frame.metrics
    table = Table(title="throughput", show_header=False, expand=True)
    table.add_row("produced", f"{frame.produced:,}", f"{frame.produce_rate:,.0f}/s")
    table.add_row("read by the worker", _count(metrics.events_in if metrics else None),
                  f"{frame.read_rate:,.0f}/s")  # fmt: skip
    table.add_row("backlog (produced - read)", _count(frame.backlog), "")
    table.add_row("consumer lag (worker probe)",
                  _count(metrics.consumer_lag if metrics else None), "")  # fmt: skip
    table.add_row("rejected", _count(metrics.rejected if metrics else None), "")
    return table


def _decisions(metrics: WorkerMetrics | None) -> Table:
    table = Table("kind", "status", "decisions", title="decisions (worker)", expand=True)
    for (kind, status), count in sorted((metrics.decisions if metrics else {}).items()):
        table.add_row(kind, status, f"{count:,}")
    return table


def _actions(by_kind: Mapping[tuple[str, str], int]) -> Table:
    table = Table("kind", "action", "read", title="actions on the action topics", expand=True)
    for (kind, action), count in sorted(by_kind.items()):
        table.add_row(kind, action, f"{count:,}")
    return table


def render_frame(frame: DemoFrame) -> RenderableType:
    """Return the terminal view of one frame."""
    recent = Table("player", "kind", "action", "trigger", "reasons", title="latest actions",
                   expand=True)  # fmt: skip
    for seen in reversed(frame.actions.recent):
        recent.add_row(seen.player_id, seen.kind, seen.action, seen.trigger,
                       ", ".join(seen.reasons))  # fmt: skip
    grid = Table.grid(expand=True)
    grid.add_row(_throughput(frame), _decisions(frame.metrics), _actions(frame.actions.by_kind))
    title = (f"pitboss live demo - {frame.elapsed_s:.0f} s, {_remaining(frame)} - "
             f"Kafka {frame.bootstrap} - Ctrl-C stops")  # fmt: skip
    return Panel(Group(grid, recent), title=title)


def plain_line(frame: DemoFrame) -> str:
    """Return one frame as a log line.

    Example:
        >>> from pitboss.replay.live.action_watch import WatchSnapshot
        >>> plain_line(DemoFrame(5.0, 60.0, "127.0.0.1:9092", 2_500, 500.0, None, 0.0,
        ...                      WatchSnapshot(0, {}, (), 0)))
        't=5s produced=2,500 (500/s) read=- (0/s) backlog=- lag=- rejected=- decisions=- actions=0'

    """
    metrics = frame.metrics
    decisions = sum(metrics.decisions.values()) if metrics else None
    return (
        f"t={frame.elapsed_s:.0f}s produced={frame.produced:,} ({frame.produce_rate:,.0f}/s) "
        f"read={_count(metrics.events_in if metrics else None)} ({frame.read_rate:,.0f}/s) "
        f"backlog={_count(frame.backlog)} "
        f"lag={_count(metrics.consumer_lag if metrics else None)} "
        f"rejected={_count(metrics.rejected if metrics else None)} "
        f"decisions={_count(decisions)} actions={frame.actions.actions:,}"
    )


def render_summary(
    result: DemoResult, audit: Mapping[tuple[str, str], int] | None,
    config: Path | None = None,
) -> RenderableType:
    """Return the end-of-run report: counts, decisions from the audit table, what to run next.

    Args:
        result: how the demo ended.
        audit: (kind, status) -> rows of the `decisions` audit table, read after the
            worker closed its store; None if it could not be read.
        config: the configuration file the demo ran with, repeated in the query commands
            (it may name another database).

    """
    stats, metrics = result.produced, result.metrics
    table = Table(title=f"live demo run ({result.stopped_by})", show_header=False)
    table.add_row("events produced", f"{stats.messages:,} in {stats.elapsed_s:.0f} s "
                  f"({stats.rate:,.0f}/s)")  # fmt: skip
    table.add_row("events read by the worker", _count(metrics.events_in if metrics else None))
    table.add_row("worker caught up", "yes" if result.caught_up else "no")
    for reason, count in sorted((metrics.rejected_by_reason if metrics else {}).items()):
        table.add_row(f"rejected: {reason}", f"{count:,}")
    for (kind, status), count in sorted((audit or {}).items()):
        table.add_row(f"decisions: {kind} {status}", f"{count:,}")
    if audit is None:
        table.add_row("decisions", "audit table not readable (see the worker log)")
    elif not audit:
        table.add_row("decisions", "none yet (a longer run gives the policy more to act on)")
    for (kind, action), count in sorted(result.actions.by_kind.items()):
        table.add_row(f"actions read: {kind} {action}", f"{count:,}")
    table.add_row("worker exit code", str(result.worker_exit_code))
    with_config = f" --config {shlex.quote(str(config))}" if config else ""
    lines = [f"  pitboss query --run {shlex.quote(str(result.data_dir))}{with_config} "
             f"{shlex.quote(sql)}" for sql in QUERIES]  # fmt: skip
    parts: list[RenderableType] = [table, "\nQuery the run (the worker has closed its store):",
                                   *lines, f"  worker log: {result.run_dir / 'worker.log'}"]
    if result.worker_exit_code != 0:
        parts.append(f"\n[red]the worker exited with {result.worker_exit_code}[/red]; its log "
                     f"ends with:\n{result.worker_log_tail}")  # fmt: skip
    parts.extend(f"[red]{problem}[/red]" for problem in result.problems)
    return Group(*parts)
