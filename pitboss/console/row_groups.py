"""A player's audit rows for the eye: runs of the same held-back decision shown as one line.

A player the policy watches for weeks collects hundreds of rows, most of them the same
decision held back by the same gate rule again and again (`min_gap`, `pending_decision`):
one per scored point. The case page shows every row, but between two rows that reached
the player or a reviewer (always lines of their own), held-back rows alike in kind,
action, status and gate rule are one line with their count and their first and last
time, in the order the first of each appeared.

Example:
    >>> from datetime import UTC, datetime
    >>> def row(minute, status, rule=""):
    ...     return DecisionRow({"decided_at": datetime(2026, 1, 5, 0, minute, tzinfo=UTC),
    ...                         "kind": "intervention", "action": "rg_message",
    ...                         "status": status, "suppressed_by": rule})
    >>> groups = group_rows([row(0, "emitted"), row(1, "suppressed", "min_gap"),
    ...                      row(2, "suppressed", "pending_decision"),
    ...                      row(3, "suppressed", "min_gap"), row(4, "emitted")])
    >>> [(g.first["suppressed_by"], g.count) for g in groups]
    [('', 1), ('min_gap', 2), ('pending_decision', 1), ('', 1)]

"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pitboss.console.store import DecisionRow

GROUPED_STATUSES = frozenset({"suppressed", "shadow"})
"""Statuses whose consecutive alike rows make one line (nothing reached anyone)."""
_ALIKE = ("kind", "action", "status", "suppressed_by")


@dataclass(frozen=True, slots=True)
class RowGroup:
    """One line of the decisions table: a row, or a run of alike held-back rows."""

    first: DecisionRow
    count: int
    last_at: datetime

    def __getitem__(self, column: str) -> object:
        return self.first[column]


def group_rows(rows: Iterable[DecisionRow]) -> list[RowGroup]:
    """Return the rows in order, held-back rows alike between two others made one group."""
    groups: list[RowGroup] = []
    open_groups: dict[tuple[object, ...], int] = {}
    for row in rows:
        if row["status"] not in GROUPED_STATUSES:
            groups.append(RowGroup(row, 1, row["decided_at"]))
            open_groups.clear()
            continue
        key = tuple(row[c] for c in _ALIKE)
        index = open_groups.get(key)
        if index is None:
            open_groups[key] = len(groups)
            groups.append(RowGroup(row, 1, row["decided_at"]))
        else:
            group = groups[index]
            groups[index] = RowGroup(group.first, group.count + 1, row["decided_at"])
    return groups
