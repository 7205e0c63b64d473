r"""An external self-exclusion register, read from the CSV file a national or state register gives.

The file is UTF-8 CSV with a header row naming its columns (any order, case ignored):

- `player_id`: the operator's player id, as in the events; or
- `sha256`: the SHA-256 of the player id's UTF-8 bytes, 64 hex digits (registers that
  share no identifiers in clear send these); each row fills exactly one of the two;
- `since` (optional): when the exclusion began, an RFC 3339 date or date-time
  (`2026-03-01` or `2026-03-01T09:00:00Z`); empty or absent: it holds for every
  event time. A replay of events older than `since` does not see it.

Every row becomes an `external_register` fact (`ComplianceChange`), keyed by the id or
`sha256:<hex>`. The rows depend only on the file, so importing it again writes the
same rows, which replace themselves. A bad file is a `RegisterError` naming the file,
the line and the problem.

Example:
    >>> from pathlib import Path
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "register.csv"
    >>> _ = path.write_text("player_id\np1\n")
    >>> [(c.player_id, c.fact, c.at_ms) for c in read_register(path)]
    [('p1', 'external_register', 0)]

"""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime
from pathlib import Path

from pitboss.operators.policy.compliance_facts import (
    EXTERNAL_REGISTER,
    HASHED_PREFIX,
    ComplianceChange,
)

COLUMNS = ("player_id", "sha256", "since")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
MAX_ID_CHARS = 256


class RegisterError(ValueError):
    """The register file cannot be read; the message names the file, the line and the problem."""


def _since_ms(text: str) -> int:
    """Return `since` as epoch milliseconds (0 when empty)."""
    if not text:
        return 0
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"since {text!r} is not an RFC 3339 date or date-time") from exc
    if moment.tzinfo is None:
        raise ValueError(f"since {text!r} has no time zone (add Z or +hh:mm)")
    return int(moment.timestamp() * 1000)


def _key(row: dict[str, str]) -> str:
    """Return the row's register key: the player id, or `sha256:` and the lower-case digest."""
    player_id, digest = row.get("player_id", ""), row.get("sha256", "")
    if bool(player_id) == bool(digest):
        raise ValueError("fill exactly one of player_id and sha256")
    if digest:
        if not _HEX64.fullmatch(digest):
            raise ValueError(f"sha256 {digest[:80]!r} is not 64 hexadecimal digits")
        return HASHED_PREFIX + digest.lower()
    if len(player_id) > MAX_ID_CHARS:
        raise ValueError(f"player_id is longer than {MAX_ID_CHARS} characters")
    return player_id


def _header(path: Path, fields: list[str] | None) -> list[str]:
    """Return the header's column names, lower-cased, or raise naming what is wrong."""
    names = [(name or "").strip().lower() for name in fields or []]
    if not names or names == [""]:
        raise RegisterError(f"{path}: empty register (a header row naming player_id or sha256 "
                            "is needed)")
    unknown = [name for name in names if name not in COLUMNS]
    if unknown or not {"player_id", "sha256"} & set(names):
        raise RegisterError(f"{path}:1: the header must name player_id or sha256 (and "
                            f"optionally since), got {', '.join(names)[:200]!r}")
    return names


def read_register(path: Path) -> list[ComplianceChange]:
    """Return one `external_register` fact per row of the register file at `path`.

    Raises:
        RegisterError: the file is missing, not UTF-8 CSV, has a bad header or a bad row.

    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RegisterError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise RegisterError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    reader = csv.reader(text.splitlines())
    names = _header(path, next(reader, None))
    changes: dict[str, ComplianceChange] = {}
    for line, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(names):
            raise RegisterError(f"{path}:{line}: {len(values)} fields, the header has "
                                f"{len(names)}")
        row = {name: value.strip() for name, value in zip(names, values, strict=True)}
        try:
            key, since = _key(row), _since_ms(row.get("since", ""))
        except ValueError as exc:
            raise RegisterError(f"{path}:{line}: {exc}") from exc
        known = changes.get(key)
        if known is None or since < known.at_ms:  # a repeated entry: the earliest since
            changes[key] = ComplianceChange(key, EXTERNAL_REGISTER, 1.0, 0, since, "register",
                                            path.name)
    if not changes:
        raise RegisterError(f"{path}: the register has a header but no entries")
    return sorted(changes.values(), key=lambda c: c.player_id)
