"""`pitboss exclusions import`: a register into the durable store, read back as the gate does.

The command and the read-back run as processes of their own (chDB allows one data
directory per process, and the test process has its own).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

_READ = r"""
import sys, orjson
from pathlib import Path
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.compliance_store import load_facts
client = open_client(None, Path(sys.argv[1]) / "clickhouse", "pitboss")
rows = client.query("SELECT player_id, fact, toUnixTimestamp64Milli(at), source, reference "
                    "FROM pitboss.compliance_state FINAL ORDER BY player_id").result_rows
facts = load_facts(client, "pitboss")
held = {p: facts.for_player(p).registered(int(sys.argv[3])) for p in sys.argv[2].split(",")}
sys.stdout.buffer.write(orjson.dumps({"rows": [list(r) for r in rows], "held": held}))
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}


def pitboss(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pitboss.cli", *args], capture_output=True,
                          text=True, check=False, timeout=120, env=_env())


def read_back(data_dir: Path, players: list[str], at_ms: int = 1_800_000_000_000) -> dict:
    done = subprocess.run([sys.executable, "-c", _READ, str(data_dir), ",".join(players),
                           str(at_ms)], capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return orjson.loads(done.stdout)


def sha256(player_id: str) -> str:
    return hashlib.sha256(player_id.encode()).hexdigest()


def test_ids_and_hashed_ids_are_imported_and_held_and_a_reimport_changes_nothing(
        tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    register.write_text(
        "sha256,player_id,since\n"
        f"{sha256('p-hashed').upper()},,\n"
        ",p-plain,2026-03-01\n"
        ",p-plain,2026-01-01T00:00:00Z\n"   # repeated: the earliest since holds
        "\n", encoding="utf-8")

    first = pitboss("exclusions", "import", str(register), "--data-dir", str(tmp_path / "d"))
    once = read_back(tmp_path / "d", ["p-hashed", "p-plain", "p-other"])
    again = pitboss("exclusions", "import", str(register), "--data-dir", str(tmp_path / "d"))
    twice = read_back(tmp_path / "d", ["p-hashed", "p-plain", "p-other"])

    assert first.returncode == 0, first.stderr
    assert "2 register entries (1 player ids, 1 hashed)" in first.stderr
    assert once["rows"] == [
        ["p-plain", "external_register", 1_767_225_600_000, "register", "register.csv"],
        [f"sha256:{sha256('p-hashed')}", "external_register", 0, "register", "register.csv"],
    ]
    assert once["held"] == {"p-hashed": True, "p-plain": True, "p-other": False}
    assert again.returncode == 0 and twice == once


def test_an_entry_holds_from_its_since_only(tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    register.write_text("player_id,since\np1,2026-03-01\n", encoding="utf-8")
    assert pitboss("exclusions", "import", str(register), "--data-dir",
                   str(tmp_path / "d")).returncode == 0
    assert read_back(tmp_path / "d", ["p1"], 1_767_225_600_000)["held"] == {"p1": False}


@pytest.mark.parametrize(("content", "named"), [
    (None, "no such file"),
    (b"", "empty register"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"id,name\n1,a\n", ":1: the header must name player_id or sha256"),
    (b"player_id\n", "no entries"),
    (b"sha256\nabc\n", ":2: sha256 'abc' is not 64 hexadecimal digits"),
    (b"player_id,sha256\np1," + b"a" * 64 + b"\n", ":2: fill exactly one"),
    (b"player_id,since\np1,yesterday\n", ":2: since 'yesterday'"),
    (b"player_id,since\np1,2026-03-01T10:00:00\n", "no time zone"),
    (b"player_id\np1,extra\n", ":2: 2 fields"),
])
def test_a_bad_register_is_one_line_with_exit_code_2_and_writes_nothing(
        tmp_path: Path, content: bytes | None, named: str) -> None:
    register = tmp_path / "register.csv"
    if content is not None:
        register.write_bytes(content)

    done = pitboss("exclusions", "import", str(register), "--data-dir", str(tmp_path / "d"))

    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: FILE ") and "register.csv" in line and named in line, line
    assert not (tmp_path / "d" / "clickhouse").exists()
