"""A progress bar for long replays: events read, events per second, ETA; quiet off a terminal.

Progress is measured in bytes of input (known up front from file sizes) and
reported in events. Nothing here touches event time or outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Lock

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _EventsColumn(ProgressColumn):
    """Events read so far and their rate."""

    def render(self, task: Task) -> Text:
        events = int(task.fields.get("events", 0))
        elapsed = task.elapsed or 0.0
        rate = events / elapsed if elapsed > 0 else 0.0
        return Text(f"{events:,} events  {rate:,.0f}/s", style="progress.data.speed")


class ReplayProgress:
    """Thread-safe progress over a set of input files (Bytewax workers may be threads)."""

    def __init__(self, progress: Progress, total_bytes: int) -> None:
        self._progress = progress
        self._task = progress.add_task("replay", total=total_bytes, events=0)
        self._events = 0
        self._lock = Lock()

    def __call__(self, messages: int, size: int) -> None:
        """Advance by `size` bytes and `messages` events."""
        with self._lock:
            self._events += messages
            self._progress.update(self._task, advance=size, events=self._events)


@contextmanager
def replay_progress(inputs: list[Path], console: Console | None = None) -> Iterator[ReplayProgress]:
    """Show a progress bar while the block runs; disabled when stderr is not a terminal."""
    console = console or Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]replay"),
        BarColumn(),
        _EventsColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )
    with progress:
        yield ReplayProgress(progress, sum(p.stat().st_size for p in inputs))
