"""An operator's common mistakes, command by command: one line naming the culprit, exit code 2.

Each case runs the real `pitboss` command line (Typer's CliRunner, in process) on
files a test writes, and checks that stderr is exactly one `error: ...` line that
names the file, flag, variable or field to fix, and that nothing started: the
checks run before any dataflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pitboss.cli import app
from pitboss.replay.log.partitioned import PartitionedLogWriter

UNREACHABLE_DSN = "http://user:s3cret@127.0.0.1:1/pitboss"
UNREACHABLE_BROKER = "127.0.0.1:1"


@dataclass
class Workspace:
    """A directory of the files the cases point at, good and bad."""

    root: Path

    def path(self, name: str) -> Path:
        return self.root / name

    def text(self, name: str, content: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        return path

    def garbage(self, name: str) -> Path:
        path = self.root / name
        path.write_bytes(bytes(range(256)) * 8)
        return path

    def parquet(self, name: str, **columns: list[object]) -> Path:
        path = self.root / name
        pq.write_table(pa.table(columns), path)
        return path

    def partitioned(self, name: str, partitions: int) -> list[str]:
        """Write a partitioned log of a few players; return its files."""
        with PartitionedLogWriter(self.root / name, partitions, shards=16) as writer:
            writer.write_many([f'{{"event_id": "e{i}", "player_id": "p{i}", "ts": {i}}}'.encode()
                               for i in range(8)])
        return [str(path) for path in writer.paths]

    def good_log(self) -> str:
        return str(self.text("good.jsonl", '{"event_id": "e1"}\n'))

    def run_dir(self) -> str:
        run = self.root / "run"
        run.mkdir(exist_ok=True)
        (run / "summary.json").write_text("{}", encoding="utf-8")
        return str(run)

    def truth(self) -> str:
        return str(self.text("truth.json", '{"truth": [], "start_ms": 0, "end_ms": 1}'))


@dataclass
class Case:
    """A command line (built in a workspace), its environment, and what the line must name."""

    args: Callable[[Workspace], list[str]]
    names: Callable[[Workspace], list[str]]
    env: dict[str, str] = field(default_factory=dict)


def _bad_policy_config(ws: Workspace) -> str:
    ws.text("policy.toml", 'version = "1"\n[thresholds]\nrg_review = 7\n')
    return str(ws.text("with-policy.toml", 'policy_file = "policy.toml"\n'))


def _contrakt(ws: Workspace) -> str:
    return str(ws.text("contrakt.toml", "[contrakt]\nmax_amount = 5\n"))


CASES: dict[str, Case] = {
    # pitboss replay
    "replay-missing-input": Case(
        lambda ws: ["replay", "--input", str(ws.path("missing.jsonl")), "--out", str(ws.path("o"))],
        lambda ws: ["--input", str(ws.path("missing.jsonl")), "no such file"]),
    "replay-input-is-a-directory": Case(
        lambda ws: ["replay", "-i", str(_dir(ws, "d.jsonl")), "--out", str(ws.path("o"))],
        lambda ws: ["--input", "d.jsonl", "not a file"]),
    "replay-unknown-extension": Case(
        lambda ws: ["replay", "-i", str(ws.text("log.csv", "a,b\n")), "-o", str(ws.path("o"))],
        lambda ws: ["--input", "log.csv", "extension"]),
    "replay-binary-parquet": Case(
        lambda ws: ["replay", "-i", str(ws.garbage("log.parquet")), "-o", str(ws.path("o"))],
        lambda ws: ["--input", "log.parquet", "not a Parquet file"]),
    "replay-parquet-without-value-column": Case(
        lambda ws: ["replay", "-i", str(ws.parquet("log.parquet", payload=[b"x"])),
                    "-o", str(ws.path("o"))],
        lambda ws: ["--input", "log.parquet", "no 'value' column", "payload"]),
    "replay-parquet-value-not-bytes": Case(
        lambda ws: ["replay", "-i", str(ws.parquet("log.parquet", value=[1, 2])),
                    "-o", str(ws.path("o"))],
        lambda ws: ["--input", "log.parquet", "'value' is int64"]),
    "replay-partition-file-missing": Case(
        lambda ws: ["replay", "-i", ws.partitioned("log.parquet", 2)[1], "-o", str(ws.path("o")),
                    "--partitions", "2"],
        lambda ws: ["--input", "1 of the 2 files", "missing: log.part-0-of-2.parquet"]),
    "replay-partition-files-with-another-log": Case(
        lambda ws: ["replay", *[a for f in ws.partitioned("log.jsonl", 2) for a in ("-i", f)],
                    "-i", ws.good_log(), "-o", str(ws.path("o"))],
        lambda ws: ["--input", "good.jsonl", "not a file of the partitioned log log.jsonl",
                    "give only its files"]),
    "replay-partition-files-of-two-sets": Case(
        lambda ws: ["replay", "-i", ws.partitioned("a.jsonl", 2)[0],
                    "-i", ws.partitioned("b.jsonl", 2)[1], "-o", str(ws.path("o"))],
        lambda ws: ["--input", "b.part-1-of-2.parquet", "another partitioned log"]),
    "replay-out-is-a-file": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.text("out.txt", "x"))],
        lambda ws: ["--out", "out.txt", "not a directory"]),
    "replay-missing-config-file": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                    "-c", str(ws.path("nope.toml"))],
        lambda ws: ["nope.toml", "cannot read configuration"]),
    "replay-config-not-toml": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                    "-c", str(ws.text("bad.toml", "[contract\n"))],
        lambda ws: ["bad.toml", "not valid TOML"]),
    "replay-config-unknown-section": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")), "-c", _contrakt(ws)],
        lambda ws: ["contrakt.toml", "unknown section 'contrakt'", "did you mean 'contract'"]),
    "replay-config-misspelt-field": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                    "-c", str(ws.text("c.toml", "[features]\nshard = 4\n"))],
        lambda ws: ["c.toml", "features.shard", "did you mean 'shards'"]),
    "replay-config-bad-value": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                    "-c", str(ws.text("c.toml", "[features]\nshards = 0\n"))],
        lambda ws: ["c.toml", "features.shards", "greater than or equal to 1"]),
    "replay-bad-policy-file": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                    "-c", _bad_policy_config(ws)],
        lambda ws: ["policy.toml", "thresholds.rg_review"]),
    "replay-bad-environment-variable": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o"))],
        lambda ws: ["PITBOSS_CONTRACT__MAX_AMOUNT", "contract.max_amount"],
        env={"PITBOSS_CONTRACT__MAX_AMOUNT": "abc"}),
    "replay-environment-variable-of-no-section": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o"))],
        lambda ws: ["PITBOSS_CONTRAKT__MAX_AMOUNT", "did you mean 'contract'"],
        env={"PITBOSS_CONTRAKT__MAX_AMOUNT": "5"}),
    "replay-environment-table-not-json": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o"))],
        lambda ws: ["PITBOSS_CONTRACT__RATES", "JSON"],
        env={"PITBOSS_CONTRACT__RATES": "GBP=1.17"}),
    "replay-unreachable-clickhouse": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                    "--clickhouse", UNREACHABLE_DSN],
        lambda ws: ["--clickhouse", "127.0.0.1:1", "Connection refused"]),
    "replay-malformed-clickhouse-dsn": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                    "--clickhouse", "ftp://host/db"],
        lambda ws: ["--clickhouse", "scheme 'ftp'"]),
    "replay-clickhouse-dsn-from-environment": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o"))],
        lambda ws: ["--clickhouse", "127.0.0.1:1"],
        env={"PITBOSS_CLICKHOUSE__DSN": UNREACHABLE_DSN}),
    "replay-missing-models-export": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                    "--models", str(ws.path("no-models"))],
        lambda ws: ["--models", "no-models"]),
    "replay-bad-workers-flag": Case(
        lambda ws: ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")), "--workers", "0"],
        lambda ws: ["--workers"]),
    "replay-missing-input-flag": Case(
        lambda ws: ["replay", "-o", str(ws.path("o"))],
        lambda ws: ["--input"]),
    # pitboss erase
    "erase-nobody": Case(
        lambda ws: ["erase", "--data-dir", str(ws.path("d"))],
        lambda ws: ["PLAYER or --file"]),
    "erase-missing-file": Case(
        lambda ws: ["erase", "--file", str(ws.path("ids.txt")), "--data-dir", str(ws.path("d"))],
        lambda ws: ["--file", "ids.txt", "no such file"]),
    "erase-no-store": Case(
        lambda ws: ["erase", "p1", "--data-dir", str(ws.path("d"))],
        lambda ws: ["--data-dir", "no store"]),
    # pitboss exclusions import
    "exclusions-bad-register": Case(
        lambda ws: ["exclusions", "import", str(ws.text("reg.csv", "id\n1\n")),
                    "--data-dir", str(ws.path("d"))],
        lambda ws: ["FILE", "reg.csv:1", "player_id or sha256"]),
    # pitboss simulate
    "simulate-unknown-extension": Case(
        lambda ws: ["simulate", "--out", str(ws.path("log.csv"))],
        lambda ws: ["--out", "log.csv", "extension"]),
    "simulate-out-directory-missing": Case(
        lambda ws: ["simulate", "--out", str(ws.path("nodir/log.jsonl"))],
        lambda ws: ["--out", "nodir", "does not exist"]),
    "simulate-truth-directory-missing": Case(
        lambda ws: ["simulate", "--out", str(ws.path("log.jsonl")),
                    "--truth", str(ws.path("nodir/truth.json"))],
        lambda ws: ["--truth", "nodir", "does not exist"]),
    "simulate-bad-start": Case(
        lambda ws: ["simulate", "--out", str(ws.path("log.jsonl")), "--start", "yesterday"],
        lambda ws: ["--start", "yesterday", "RFC 3339"]),
    "simulate-bad-players-flag": Case(
        lambda ws: ["simulate", "--out", str(ws.path("log.jsonl")), "--players", "many"],
        lambda ws: ["--players", "pitboss simulate --help"]),
    # pitboss report
    "report-missing-run-directory": Case(
        lambda ws: ["report", str(ws.path("no-run"))],
        lambda ws: ["no-run", "no such directory"]),
    "report-not-a-run-directory": Case(
        lambda ws: ["report", str(ws.root)],
        lambda ws: [str(ws.root), "not a run directory", "summary.json"]),
    "report-missing-truth": Case(
        lambda ws: ["report", ws.run_dir(), "--truth", str(ws.path("truth.json"))],
        lambda ws: ["--truth", "truth.json", "no such file"]),
    "report-truth-not-a-truth-file": Case(
        lambda ws: ["report", ws.run_dir(), "--truth", str(ws.text("truth.json", "[1, 2]"))],
        lambda ws: ["--truth", "truth.json", "not a truth file"]),
    "report-bad-config": Case(
        lambda ws: ["report", ws.run_dir(), "-c", _contrakt(ws)],
        lambda ws: ["contrakt.toml", "'contrakt'"]),
    "report-unreachable-clickhouse": Case(
        lambda ws: ["report", ws.run_dir(), "--clickhouse", UNREACHABLE_DSN],
        lambda ws: ["--clickhouse", "127.0.0.1:1"]),
    # pitboss evaluate
    "evaluate-missing-truth": Case(
        lambda ws: ["evaluate", ws.run_dir(), "--truth", str(ws.path("truth.jsonl"))],
        lambda ws: ["--truth", "truth.jsonl", "no such file"]),
    "evaluate-truth-not-json": Case(
        lambda ws: ["evaluate", ws.run_dir(), "--truth", str(ws.garbage("truth.json"))],
        lambda ws: ["--truth", "truth.json", "not JSON"]),
    "evaluate-bad-config": Case(
        lambda ws: ["evaluate", ws.run_dir(), "--truth", ws.truth(), "-c", _contrakt(ws)],
        lambda ws: ["contrakt.toml", "'contrakt'"]),
    "evaluate-unreachable-clickhouse": Case(
        lambda ws: ["evaluate", ws.run_dir(), "--truth", ws.truth(),
                    "--clickhouse", UNREACHABLE_DSN],
        lambda ws: ["--clickhouse", "127.0.0.1:1"]),
    "evaluate-run-without-store": Case(
        lambda ws: ["evaluate", ws.run_dir(), "--truth", ws.truth()],
        lambda ws: ["no embedded ClickHouse store", "--clickhouse"]),
    # pitboss compare
    "compare-one-config": Case(
        lambda ws: ["compare", "-i", ws.good_log(), "-c", _contrakt(ws)],
        lambda ws: ["--config", "exactly two"]),
    "compare-bad-config-b": Case(
        lambda ws: ["compare", "-i", ws.good_log(), "-c", str(ws.text("a.toml", "")),
                    "-c", _contrakt(ws)],
        lambda ws: ["--config B", "contrakt.toml", "'contrakt'"]),
    "compare-missing-input": Case(
        lambda ws: ["compare", "-i", str(ws.path("missing.parquet")),
                    "-c", str(ws.text("a.toml", "")), "-c", str(ws.text("b.toml", ""))],
        lambda ws: ["--input", "missing.parquet", "no such file"]),
    "compare-missing-truth": Case(
        lambda ws: ["compare", "-i", ws.good_log(), "-c", str(ws.text("a.toml", "")),
                    "-c", str(ws.text("b.toml", "")), "--truth", str(ws.path("t.json"))],
        lambda ws: ["--truth", "t.json"]),
    # pitboss models export / import
    "models-export-missing-source": Case(
        lambda ws: ["models", "export", "--from", str(ws.path("nothing")), str(ws.path("out"))],
        lambda ws: ["--from", "nothing", "manifest.json"]),
    "models-import-missing-export": Case(
        lambda ws: ["models", "import", str(ws.path("nothing")), "--into", str(ws.path("st"))],
        lambda ws: ["DIRECTORY", "nothing", "manifest.json"]),
    "models-import-corrupt-manifest": Case(
        lambda ws: ["models", "import", str(_dir(ws, "export", {"manifest.json": "{not json"})),
                    "--into", str(ws.path("st"))],
        lambda ws: ["DIRECTORY", "manifest.json"]),
    "models-export-bad-config": Case(
        lambda ws: ["models", "export", "--from", str(ws.path("x")), str(ws.path("out")),
                    "-c", _contrakt(ws)],
        lambda ws: ["contrakt.toml", "'contrakt'"]),
    "models-import-missing-into-flag": Case(
        lambda ws: ["models", "import", str(ws.path("x"))],
        lambda ws: ["--into"]),
    # pitboss run --console (checked before anything starts)
    "run-console-without-users": Case(
        lambda ws: ["run", "--data-dir", str(ws.path("d")), "--console", "8700"],
        lambda ws: ["--console", "--console-users"]),
    "run-console-bad-address": Case(
        lambda ws: ["run", "--data-dir", str(ws.path("d")), "--console", "localhost:http",
                    "--console-users", str(ws.path("users.json"))],
        lambda ws: ["--console", "localhost:http"]),
    "run-console-users-file-missing": Case(
        lambda ws: ["run", "--data-dir", str(ws.path("d")), "--console", "8700",
                    "--console-users", str(ws.path("users.json"))],
        lambda ws: ["--console-users", "users.json"]),
    # pitboss produce
    "produce-bad-bootstrap": Case(
        lambda ws: ["produce", "--bootstrap", "broker-without-port", "--duration", "1"],
        lambda ws: ["--bootstrap", "broker-without-port", "host:port"]),
    "produce-unreachable-broker": Case(
        lambda ws: ["produce", "--bootstrap", UNREACHABLE_BROKER, "--duration", "1"],
        lambda ws: ["--bootstrap", UNREACHABLE_BROKER, "no Kafka broker answered"]),
    "produce-bad-environment-variable": Case(
        lambda ws: ["produce", "--duration", "1"],
        lambda ws: ["PITBOSS_KAFKA__LINGER_MS", "kafka.linger_ms"],
        env={"PITBOSS_KAFKA__LINGER_MS": "soon"}),
    "produce-bad-rate-flag": Case(
        lambda ws: ["produce", "--rate", "0"],
        lambda ws: ["--rate"]),
    # pitboss dev-kafka
    "dev-kafka-bad-config": Case(
        lambda ws: ["dev-kafka", "-c", _contrakt(ws)],
        lambda ws: ["contrakt.toml", "'contrakt'"]),
    "dev-kafka-bad-topic-variable": Case(
        lambda ws: ["dev-kafka"],
        lambda ws: ["PITBOSS_KAFKA__TOPICS__BETS", "kafka.topics.bets"],
        env={"PITBOSS_KAFKA__TOPICS__BETS": "bets and more"}),
    "dev-kafka-bootstrap-file-directory-missing": Case(
        lambda ws: ["dev-kafka", "--bootstrap-file", str(ws.path("nodir/bootstrap"))],
        lambda ws: ["--bootstrap-file", "nodir"]),
    # pitboss demo
    "demo-bad-config": Case(
        lambda ws: ["demo", "--dir", str(ws.path("demo")), "-c", _contrakt(ws)],
        lambda ws: ["contrakt.toml", "'contrakt'"]),
    "demo-dir-is-a-file": Case(
        lambda ws: ["demo", "--dir", str(ws.text("demo", "x"))],
        lambda ws: ["--dir", "not a directory"]),
    "demo-bad-seconds-variable": Case(
        lambda ws: ["demo", "--dir", str(ws.path("demo"))],
        lambda ws: ["--seconds", "PITBOSS_DEMO_SECONDS"],
        env={"PITBOSS_DEMO_SECONDS": "a minute"}),
    # pitboss query (a server that cannot be reached)
    "query-unreachable-clickhouse": Case(
        lambda ws: ["query", "--clickhouse", UNREACHABLE_DSN, "SELECT 1"],
        lambda ws: ["127.0.0.1:1", "Connection refused"]),
    # pitboss itself
    "unknown-command": Case(
        lambda ws: ["replai"],
        lambda ws: ["replai"]),
}


def _dir(ws: Workspace, name: str, files: dict[str, str] | None = None) -> Path:
    path = ws.path(name)
    path.mkdir(parents=True, exist_ok=True)
    for file, content in (files or {}).items():
        (path / file).write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_a_mistake_is_one_line_naming_it_with_exit_code_2(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    ws = Workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    for variable in ("PITBOSS_CLICKHOUSE__DSN", "PITBOSS_DEMO_SECONDS"):
        monkeypatch.delenv(variable, raising=False)

    result = CliRunner().invoke(app, case.args(ws), env=case.env, prog_name="pitboss")

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for culprit in case.names(ws):
        assert culprit in lines[0], f"{culprit!r} not named in: {lines[0]}"
    assert "s3cret" not in result.output
    assert not (tmp_path / "o" / "summary.json").exists()


def test_the_policy_error_names_the_policy_file_not_the_configuration(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    config = _bad_policy_config(ws)

    result = CliRunner().invoke(app, ["replay", "-i", ws.good_log(), "-o", str(ws.path("o")),
                                      "-c", config])

    assert result.exit_code == 2
    assert f"{tmp_path / 'policy.toml'}: invalid policy: thresholds.rg_review" in result.stderr


def test_the_environment_variable_is_named_and_not_the_defaults_file(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)

    result = CliRunner().invoke(app, ["replay", "-i", ws.good_log(), "-o", str(ws.path("o"))],
                                env={"PITBOSS_CONTRACT__MAX_AMOUNT": "abc"})

    assert result.exit_code == 2
    assert "defaults.toml" not in result.stderr
    assert result.stderr.startswith("error: environment variable PITBOSS_CONTRACT__MAX_AMOUNT:")


def test_bad_records_in_a_good_log_are_dead_letters_not_errors(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"event_id": "e1"}\n\xff\xfe not json\n\n{"bet": 1}\n')

    result = CliRunner().invoke(app, ["replay", "-i", str(log), "-o", str(tmp_path / "o")])

    assert result.exit_code == 0, result.output
    assert "4 events" in result.stderr and "4 rejected" in result.stderr
    assert len((tmp_path / "o" / "rejected.jsonl").read_text().splitlines()) == 4


def test_run_names_the_bad_configuration_in_one_line(tmp_path: Path) -> None:
    config = _contrakt(Workspace(tmp_path))

    result = CliRunner().invoke(app, ["run", "--data-dir", str(tmp_path / "d"), "-c", config,
                                      "--metrics-port", "0"])

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "contrakt.toml" in line and "'contrakt'" in line


@pytest.mark.parametrize(("policy", "named"), [
    ("[thresholds\nrg_review = 0.5\n", "not valid TOML"),
    ('version = "1"\n[thresholds]\nrg_revew = 0.5\n', "thresholds.rg_revew"),
    ('version = "1"\n[thresholds]\nrg_review = 7\n', "thresholds.rg_review"),
])
def test_run_names_a_bad_policy_file_in_one_line(tmp_path: Path, policy: str, named: str) -> None:
    ws = Workspace(tmp_path)
    ws.text("policy.toml", policy)
    config = str(ws.text("with-policy.toml", 'policy_file = "policy.toml"\n'))

    result = CliRunner().invoke(app, ["run", "--data-dir", str(tmp_path / "d"), "-c", config,
                                      "--metrics-port", "0"])

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "policy.toml" in line and named in line and "Traceback" not in result.output
