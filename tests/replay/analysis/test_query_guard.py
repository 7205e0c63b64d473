"""The analyst query guard against a hostile battery, on the real chDB engine.

Every hostile query is handed to `run_query` on a migrated store while a watched
directory (the target of every write) and a TCP listener on 127.0.0.1 (the target of
every outbound connection) look on: each must be refused with one line, the directory
must stay empty and the listener must receive nothing. The oracle tests first show that
the same engine, unguarded, does write the file, connect out and read a local file, so
the watchers can see what they watch for. The command is run too: against a server DSN
it refuses before connecting (the listener, standing in for the server, hears nothing),
with one line and exit code 2. The legitimate side (docs/analysts.md's
examples return the same rows as before) is in tests/sinks/test_analyst_queries.py.
"""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitboss.replay.analysis.query import QueryLimits, ResultTooLargeError, engine_parser, run_query
from pitboss.replay.analysis.query_guard import PROJECT_TABLES, QueryRefusedError, check_query
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.migrations import apply_migrations

URL = "http://127.0.0.1:<PORT>/x.csv"
FILE_INSERT = "INSERT INTO FUNCTION file('<OUT>', 'CSV', 'a String') SELECT 'x'"

# (id, query). <OUT> is a file in the watched directory, <PORT> the listener's port,
# <SECRET> a local file outside the project whose first line is a secret.
HOSTILE = [
    # The review's three findings, verbatim (the first writes /tmp/f if it runs).
    ("review-dollar-outfile", "SELECT $$'$$ AS a, 'x' AS b INTO OUTFILE '/tmp/f' --'"),
    ("review-describe-file", "DESCRIBE file('/etc/passwd', 'TSVWithNames')"),
    ("review-describe-url", "DESCRIBE url('http://127.0.0.1:<PORT>/...')"),
    # INTO OUTFILE, hidden by quoting and comments or spelled in its variants.
    ("dollar-outfile", "SELECT $$'$$ AS a, 'x' AS b INTO OUTFILE '<OUT>' --'"),
    ("dollar-outfile-append", "SELECT $$'$$ AS a, 'x' AS b INTO OUTFILE '<OUT>' APPEND --'"),
    ("tagged-dollar-outfile", "SELECT $tag$ '; $$ $tag$ AS a INTO OUTFILE '<OUT>'"),
    ("outfile-truncate", "SELECT 1 INTO OUTFILE '<OUT>' TRUNCATE"),
    ("outfile-compression", "SELECT 1 INTO OUTFILE '<OUT>' COMPRESSION 'gzip' LEVEL 3"),
    ("outfile-and-stdout", "SELECT 1 INTO OUTFILE '<OUT>' AND STDOUT"),
    ("outfile-with-format", "SELECT * FROM decisions INTO OUTFILE '<OUT>' FORMAT CSV"),
    ("outfile-after-nested-comment",
     "SELECT 1 /* outer /* inner */ still a comment */ INTO OUTFILE '<OUT>'"),
    ("outfile-after-mysql-comment", "SELECT 1 /*! a version comment */ INTO OUTFILE '<OUT>'"),
    ("outfile-after-line-comment", "SELECT 1 -- '\nINTO OUTFILE '<OUT>'"),
    ("outfile-after-hash-comment", "SELECT 1 # '\nINTO OUTFILE '<OUT>'"),
    ("outfile-of-explain", "EXPLAIN SYNTAX SELECT 1 INTO OUTFILE '<OUT>'"),
    ("outfile-of-show", "SHOW TABLES INTO OUTFILE '<OUT>'"),
    ("outfile-of-describe", "DESCRIBE TABLE decisions INTO OUTFILE '<OUT>'"),
    ("fullwidth-outfile",  # INTO OUTFILE in fullwidth letters
     "SELECT 1 \uff29\uff2e\uff34\uff2f \uff2f\uff35\uff34\uff26\uff29\uff2c\uff25 '<OUT>'"),
    # Table functions, in every position.
    ("file", "SELECT * FROM file('<SECRET>', 'TSVWithNames')"),
    ("url", f"SELECT * FROM url('{URL}', 'CSV', 'a String')"),
    ("s3", "SELECT * FROM s3('http://127.0.0.1:<PORT>/bucket/k.csv', 'CSV', 'a String')"),
    ("remote", "SELECT * FROM remote('127.0.0.1:<PORT>', system.one)"),
    ("remote-secure", "SELECT * FROM remoteSecure('127.0.0.1:<PORT>', 'db', 't')"),
    ("cluster", "SELECT * FROM cluster('default', system.one)"),
    ("mysql", "SELECT * FROM mysql('127.0.0.1:<PORT>', 'db', 't', 'u', 'p')"),
    ("postgresql", "SELECT * FROM postgresql('127.0.0.1:<PORT>', 'db', 't', 'u', 'p')"),
    ("hdfs", "SELECT * FROM hdfs('hdfs://127.0.0.1:<PORT>/x', 'CSV', 'a String')"),
    ("jdbc", "SELECT * FROM jdbc('jdbc:mysql://127.0.0.1:<PORT>/db', 't')"),
    ("odbc", "SELECT * FROM odbc('DSN=x', 't')"),
    ("executable", "SELECT * FROM executable('id', 'TSV', 'a String')"),
    ("input", "SELECT * FROM input('a String')"),
    ("numbers", "SELECT * FROM numbers(10)"),
    ("merge", "SELECT * FROM merge('system', '.*')"),
    ("view", "SELECT * FROM view(SELECT * FROM system.users)"),
    ("dictionary", "SELECT * FROM dictionary('some_dictionary')"),
    ("lookalike-file", "SELECT * FROM f\u0456le('<SECRET>')"),  # a Cyrillic i
    ("union-url", f"SELECT player_id FROM decisions UNION ALL "
                  f"SELECT * FROM url('{URL}', 'CSV', 'a String')"),
    ("intersect-file", "SELECT player_id FROM decisions INTERSECT SELECT * FROM file('<SECRET>')"),
    ("where-subquery-file",
     "SELECT * FROM decisions WHERE player_id IN (SELECT c1 FROM file('<SECRET>'))"),
    ("join-url", f"SELECT * FROM decisions AS d JOIN url('{URL}', 'CSV', 'player_id String') "
                 "AS u USING player_id"),
    ("join-subquery-url", f"SELECT * FROM decisions JOIN (SELECT * FROM url('{URL}', 'CSV', "
                          "'player_id String')) USING player_id"),
    ("cte-file", "WITH leak AS (SELECT * FROM file('<SECRET>')) SELECT * FROM leak"),
    ("scalar-subquery-url",
     f"SELECT (SELECT count() FROM url('{URL}', 'CSV', 'a String')) AS n"),
    ("explain-file", "EXPLAIN SELECT * FROM file('<SECRET>')"),
    ("explain-ast-url", f"EXPLAIN AST SELECT * FROM url('{URL}', 'CSV', 'a String')"),
    ("explain-pipeline-remote", "EXPLAIN PIPELINE SELECT * FROM remote('127.0.0.1:<PORT>', "
                                "system.one)"),
    ("explain-table-override",
     "EXPLAIN TABLE OVERRIDE mysql('127.0.0.1:<PORT>', 'db', 't', 'u', 'p') PARTITION BY x"),
    ("select-from-explain", "SELECT * FROM (EXPLAIN SELECT * FROM file('<SECRET>'))"),
    ("describe-subquery-file", "DESCRIBE (SELECT * FROM file('<SECRET>', 'TSVWithNames'))"),
    ("describe-table-url", f"DESCRIBE TABLE url('{URL}', 'CSV')"),
    ("desc-file", "DESC file('<SECRET>', 'TSVWithNames')"),
    # Scalar functions that read a file, a dictionary, another table or a model.
    ("scalar-file", "SELECT file('<SECRET>')"),
    ("scalar-file-in-with", "WITH file('<SECRET>') AS leak SELECT leak"),
    ("dict-get", "SELECT dictGet('system.d', 'a', toUInt64(1))"),
    ("dict-has", "SELECT dictHas('d', toUInt64(1))"),
    ("join-get", "SELECT joinGet('other_db.j', 'v', 1)"),
    ("has-column-in-table", "SELECT hasColumnInTable('system', 'users', 'name')"),
    ("catboost", "SELECT catboostEvaluate('<SECRET>', 1)"),
    # Other databases, system tables, unknown tables.
    ("system-users", "SELECT * FROM system.users"),
    ("system-query-log", "SELECT query FROM system.query_log"),
    ("system-one", "SELECT * FROM system.one"),
    ("backquoted-system", "SELECT * FROM `system`.`users`"),
    ("information-schema", "SELECT * FROM INFORMATION_SCHEMA.TABLES"),
    ("other-database", "SELECT * FROM other_db.decisions"),
    ("unknown-table", "SELECT * FROM users"),
    ("in-system-table", "SELECT count() FROM decisions WHERE player_id IN system.users"),
    ("global-in-other-table", "SELECT count() FROM decisions WHERE player_id GLOBAL IN other.t"),
    ("describe-system", "DESCRIBE TABLE system.users"),
    ("show-create-system", "SHOW CREATE TABLE system.users"),
    ("show-create-database", "SHOW CREATE DATABASE system"),
    ("show-tables-system", "SHOW TABLES FROM system"),
    ("show-columns-system", "SHOW COLUMNS FROM users FROM system"),
    ("show-databases", "SHOW DATABASES"),
    ("show-dictionaries", "SHOW DICTIONARIES"),
    ("show-settings", "SHOW SETTINGS LIKE '%'"),
    ("show-grants", "SHOW GRANTS"),
    ("show-processlist", "SHOW PROCESSLIST"),
    ("show-users", "SHOW USERS"),
    ("show-create-user", "SHOW CREATE USER default"),
    ("show-tables-limit-file", "SHOW TABLES LIMIT (SELECT count() FROM file('<SECRET>'))"),
    ("show-columns-limit-url",
     f"SHOW COLUMNS FROM decisions LIMIT (SELECT count() FROM url('{URL}', 'CSV', 'a String'))"),
    ("lambda-file", "SELECT arrayMap(x -> file(x), ['<SECRET>'])"),
    ("array-join-file", "SELECT * FROM decisions ARRAY JOIN splitByChar(',', file('<SECRET>')) "
                        "AS leak"),
    ("view-if-permitted", "SELECT * FROM viewIfPermitted(SELECT 1 ELSE null('x String'))"),
    # Settings, output format and parameters.
    ("settings-readonly-0", "SELECT count() FROM decisions SETTINGS readonly = 0"),
    ("settings-in-subquery", "SELECT * FROM (SELECT 1 SETTINGS readonly = 0)"),
    ("explain-with-a-setting", "EXPLAIN readonly = 0 SELECT 1"),
    ("format", "SELECT 1 FORMAT TSV"),
    ("format-native", "SELECT * FROM decisions FORMAT Native"),
    ("parameter-as-table", "SELECT * FROM {t:Identifier}"),
    # Statements other than reads.
    ("insert-select-file", "INSERT INTO decisions SELECT * FROM file('<SECRET>')"),
    ("insert-function-file", FILE_INSERT),
    ("insert-values", "INSERT INTO decisions (decision_id) VALUES ('x')"),
    ("create-file-engine", "CREATE TABLE leak (a String) ENGINE = File(CSV, '<OUT>')"),
    ("create-temporary", "CREATE TEMPORARY TABLE t AS SELECT 1"),
    ("drop", "DROP TABLE decisions"),
    ("truncate", "TRUNCATE TABLE decisions"),
    ("alter-delete", "ALTER TABLE decisions DELETE WHERE 1"),
    ("optimize", "OPTIMIZE TABLE decisions FINAL"),
    ("system-reload", "SYSTEM RELOAD DICTIONARIES"),
    ("system-shutdown", "SYSTEM SHUTDOWN"),
    ("kill", "KILL QUERY WHERE 1"),
    ("attach", "ATTACH TABLE leak FROM '<OUT>' (a String) ENGINE = File(CSV)"),
    ("detach", "DETACH TABLE decisions"),
    ("set", "SET readonly = 0"),
    ("use", "USE system"),
    ("grant", "GRANT ALL ON *.* TO analyst"),
    ("backup", "BACKUP TABLE decisions TO File('<OUT>')"),
    ("exists", "EXISTS TABLE decisions"),
    ("explain-insert", "EXPLAIN AST " + FILE_INSERT),
    # Several statements, and statements behind comments.
    ("two-statements", "SELECT 1; " + FILE_INSERT),
    ("semicolon-in-comment", "SELECT 1 /* ; */ ; DROP TABLE decisions"),
    ("semicolon-in-string", "SELECT 'a;b'; SELECT * FROM file('<SECRET>')"),
    ("line-comment-then-insert", "-- SELECT 1\n" + FILE_INSERT),
    ("block-comment-then-system", "/* SELECT */ SYSTEM SHUTDOWN"),
    ("mysql-comment-then-drop", "/*! SELECT 1 */ DROP TABLE decisions"),
    ("fullwidth-semicolon", "SELECT 1\uff1bDROP TABLE decisions"),
    # Not a query at all.
    ("empty", ""),
    ("only-a-comment", "-- SELECT 1"),
    ("unterminated-string", "SELECT 'abc"),
    ("unterminated-dollar-string", "SELECT $$abc"),
]

# Accepted: reads of the project's tables, and text that only looks dangerous.
ALLOWED = [
    "SELECT 1",
    "select count() from decisions final",
    "SELECT count() FROM <DB>.decisions FINAL",
    "WITH t AS (SELECT player_id FROM decisions) SELECT count() FROM t",
    "SELECT count() FROM decisions WHERE player_id IN (SELECT player_id FROM player_scores)",
    "(SELECT 1) UNION ALL (SELECT 2)",
    "SELECT 'a;b' AS s -- trailing; comment",
    "SELECT 'INTO OUTFILE <OUT>' AS note",
    "SELECT $$'$$ AS a, $$INTO OUTFILE '<OUT>'$$ AS b",
    "SELECT 1 /*! INTO OUTFILE '<OUT>' */",
    "SELECT 1 /* nested /* INTO OUTFILE '<OUT>' */ still a comment */",
    "SHOW TABLES",
    "SHOW TABLES FROM <DB> LIKE 'player%'",
    "SHOW COLUMNS FROM decisions",
    "DESCRIBE decisions",
    "DESC TABLE <DB>.player_scores",
    "SHOW CREATE VIEW daily_kpis",
    "EXPLAIN SELECT count() FROM decisions",
    "EXPLAIN indexes = 1 SELECT count() FROM decisions WHERE player_id = 'p1'",
    "EXPLAIN SYNTAX SELECT 1 IN (SELECT 1)",
]


class _Listener(socketserver.ThreadingTCPServer):
    """A TCP server on 127.0.0.1 that counts connections (each is recorded, then closed)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.connections = 0
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Record)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def record(self) -> None:
        with self._lock:
            self.connections += 1


class _Record(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, _Listener)
        self.server.record()  # before the close the client waits for


@pytest.fixture(scope="module")
def listener() -> Iterator[_Listener]:
    server = _Listener()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def store(chdb_path: Path) -> Iterator[Client]:
    database = f"t{os.getpid()}_guard"
    client = open_client(None, chdb_path, database)
    apply_migrations(client, database)
    yield client
    client.close()


@pytest.fixture
def unguarded(chdb_path: Path, store: Client) -> Iterator[Client]:
    """Yield a client of its own for the oracles, which run statements without the guard."""
    client = open_client(None, chdb_path, str(store.database))
    yield client
    client.close()


@pytest.fixture
def watched(tmp_path: Path) -> Path:
    directory = tmp_path / "watched"
    directory.mkdir()
    return directory


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.tsv"
    path.write_text("s3cret_header\nvalue\n", encoding="utf-8")
    return path


def _fill(template: str, watched: Path, listener: _Listener, secret: Path, store: Client) -> str:
    return (template.replace("<OUT>", str(watched / "out.csv"))
            .replace("<PORT>", str(listener.port)).replace("PORT", str(listener.port))
            .replace("<SECRET>", str(secret)).replace("<DB>", str(store.database)))


def _state(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def test_the_battery_is_at_least_forty_distinct_queries() -> None:
    assert len(HOSTILE) >= 40
    assert len({sql for _, sql in HOSTILE}) == len(HOSTILE)
    assert len({name for name, _ in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("template", [sql for _, sql in HOSTILE],
                         ids=[name for name, _ in HOSTILE])
def test_hostile_query_is_refused_in_one_line_and_touches_nothing(
    template: str, store: Client, listener: _Listener, watched: Path, secret: Path
) -> None:
    sql = _fill(template, watched, listener, secret, store)
    connections, tmp_f = listener.connections, _state("/tmp/f")
    with pytest.raises(QueryRefusedError) as refused:
        run_query(store, sql)
    message = str(refused.value)
    assert message and "\n" not in message and len(message) < 400
    assert "s3cret_header" not in message
    assert list(watched.iterdir()) == []
    assert listener.connections == connections
    assert _state("/tmp/f") == tmp_f


@pytest.mark.parametrize("template", ALLOWED)
def test_allowed_query_runs_and_writes_nothing(
    template: str, store: Client, listener: _Listener, watched: Path, secret: Path
) -> None:
    connections = listener.connections
    result = run_query(store, _fill(template, watched, listener, secret, store))
    assert result.columns
    assert list(watched.iterdir()) == []
    assert listener.connections == connections


def test_unguarded_engine_writes_the_file_of_the_dollar_quoted_outfile(
    unguarded: Client, watched: Path
) -> None:
    # The oracle: without the guard the same engine, even with readonly=1, writes the file.
    target = watched / "out.csv"
    unguarded.query(f"SELECT $$'$$ AS a, 'x' AS b INTO OUTFILE '{target}' --'",
                settings={"readonly": 1})
    assert target.exists()


def test_unguarded_engine_connects_out_for_describe_url(
    unguarded: Client, listener: _Listener
) -> None:
    connections = listener.connections
    with pytest.raises(DatabaseError):
        unguarded.query(f"DESCRIBE url('http://127.0.0.1:{listener.port}/x.csv', 'CSV')",
                    settings={"readonly": 1})
    assert listener.connections > connections


def test_unguarded_engine_reads_a_local_file_under_readonly(
    unguarded: Client, secret: Path
) -> None:
    described = unguarded.query(f"DESCRIBE file('{secret}', 'TSVWithNames')",
                            settings={"readonly": 1})
    assert described.result_rows[0][0] == "s3cret_header"
    read = unguarded.query(f"SELECT file('{secret}')", settings={"readonly": 1})
    assert "s3cret_header" in read.result_rows[0][0]


def test_the_canonical_text_is_what_runs(store: Client) -> None:
    with engine_parser(store) as parser:
        statement = check_query("select $$it's$$ as s -- note\n from decisions limit 0",
                                parser, str(store.database))
    assert statement == "SELECT 'it\\'s' AS s FROM decisions LIMIT 0"


def test_project_tables_are_exactly_what_the_migrations_create(store: Client) -> None:
    shown = {row[0] for row in store.query("SHOW TABLES").result_rows}
    assert shown == PROJECT_TABLES


def test_a_result_over_the_row_limit_is_refused(store: Client) -> None:
    with pytest.raises(ResultTooLargeError, match="more than 1 rows"):
        run_query(store, "SHOW TABLES", QueryLimits(max_rows=1))
    assert len(run_query(store, "SHOW TABLES", QueryLimits(max_rows=100)).rows) == \
        len(PROJECT_TABLES)


def test_a_streamed_result_over_the_row_limit_stops_and_the_client_still_works(
    store: Client,
) -> None:
    many = "SELECT arrayJoin(range(200000)) AS n"
    with pytest.raises(ResultTooLargeError, match="more than 10 rows"):
        run_query(store, many, QueryLimits(max_rows=10))
    assert len(run_query(store, many).rows) == 200000


def test_queries_run_read_only_with_the_time_limit(store: Client) -> None:
    result = run_query(store, "SELECT getSetting('readonly') AS readonly, "
                              "getSetting('max_execution_time') AS seconds",
                       QueryLimits(max_seconds=7))
    assert [float(v) for v in result.rows[0]] == [1, 7]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60))
def test_any_text_is_refused_or_is_one_allowed_statement(text: str, store: Client) -> None:
    database = str(store.database)
    try:
        with engine_parser(store) as parser:
            statement = check_query(text, parser, database)
    except QueryRefusedError as refused:
        assert str(refused) and "\n" not in str(refused)
        return
    assert statement.startswith(("SELECT", "WITH", "SHOW TABLES", "SHOW COLUMNS", "SHOW CREATE",
                                 "DESCRIBE TABLE", "EXPLAIN", "("))
    with engine_parser(store) as parser:  # the canonical text is a fixed point
        assert check_query(statement, parser, database) == statement


PITBOSS = [sys.executable, "-c", "from pitboss.cli import app; app()"]


def test_the_command_refuses_before_connecting_to_a_server(
    listener: _Listener, watched: Path, secret: Path, tmp_path: Path
) -> None:
    dsn = f"http://analyst:pw@127.0.0.1:{listener.port}/pitboss"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}
    connections = listener.connections
    for template in ("SELECT $$'$$ AS a, 'x' AS b INTO OUTFILE '<OUT>' --'",
                     "DESCRIBE file('<SECRET>', 'TSVWithNames')",
                     f"DESCRIBE url('{URL}')"):
        sql = (template.replace("<OUT>", str(watched / "out.csv"))
               .replace("<SECRET>", str(secret)).replace("<PORT>", str(listener.port)))
        done = subprocess.run([*PITBOSS, "query", sql, "--clickhouse", dsn], env=env,
                              cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("refused: ") and done.stderr.count("\n") == 1
        assert "Traceback" not in done.stderr and "s3cret_header" not in done.stderr
    assert listener.connections == connections  # the server was never contacted
    assert list(watched.iterdir()) == []
    # An allowed query does go to the server (here: the listener, which hangs up, so the
    # operator is told, as for any server that does not answer, naming the flag).
    allowed = subprocess.run([*PITBOSS, "query", "SELECT 1", "--clickhouse", dsn], env=env,
                             cwd=tmp_path, capture_output=True, text=True)
    assert allowed.returncode == 2
    assert allowed.stderr.startswith("error: --clickhouse: ClickHouse at ")
    assert "Traceback" not in allowed.stderr and ":pw@" not in allowed.stderr
    assert listener.connections > connections
