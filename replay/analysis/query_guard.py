"""Decide whether an analyst's SQL may run, from ClickHouse's own parse tree of it.

`pitboss query` runs what an analyst types against the project's ClickHouse, so the
statement is parsed by the engine itself (chDB, in process) rather than scanned for
keywords: a keyword scan can be fooled by `$$...$$` strings, nested comments and the
like, the parser cannot. The steps:

1. `formatQuerySingleLine(sql)` gives the engine's canonical text of the one statement
   (a syntax error, or a second statement after `;`, is a refusal). Comments are gone,
   every literal is quoted one way, and this canonical text is what runs: what was
   checked is what executes, on chDB and on a server.
2. `DESCRIBE TABLE t` and `SHOW CREATE TABLE|VIEW t` are matched on that canonical text
   (the engine has no JSON form for them); nothing but a project table may follow.
3. Anything else goes through `parseQueryToJSON`, the engine's own serialisation of its
   AST (it refuses statement kinds it cannot represent faithfully, so unknown kinds are
   refusals). The tree is walked: one `SELECT` / `WITH ... SELECT` / `UNION` /
   `INTERSECT` / `EXCEPT`, `SHOW TABLES`, `SHOW COLUMNS`, or `EXPLAIN` of such a
   `SELECT`; tables only from the project's database and only the tables the project
   creates (`sinks/schema/*.sql`) or the query's own `WITH` names; no table function in
   any position (`file`, `url`, `s3`, `remote`, `numbers`: every one, since each reads
   outside the project's tables or is not needed); no scalar function that reads a file,
   a dictionary, another table or a model (`file`, `dict*`, `joinGet`,
   `hasColumnInTable`, `catboostEvaluate`, ...); no `INTO OUTFILE`, `FORMAT`,
   `SETTINGS` or query parameters anywhere.

Why not a separate SQL parser (sqlglot 30.31, ClickHouse dialect, measured on the same
battery with an equivalent walk): it is a second opinion on the engine's grammar, so
any difference between the two (nested comments, heredocs, new syntax) is a way
through; it parses every `SHOW` and `EXPLAIN` as an opaque command (6 of the 33
legitimate queries refused); and the text it would hand on is its own rendering, not
what the engine parsed. The engine's own parser has none of these gaps by construction.

Every refusal is a `QueryRefusedError` with one line naming what was refused. The
server side is defence in depth: the query also runs with `readonly=1`, and the compose
`analyst` user holds only `GRANT SELECT ON pitboss.*` (docs/analysts.md).

Example (not run as a doctest: chDB allows one engine per process, and the test
session's engine is bound to its own directory):
    >>> import clickhouse_connect  # doctest: +SKIP
    >>> parser = EngineParser(clickhouse_connect.get_client(interface="chdb"))  # doctest: +SKIP
    >>> check_query("select count() from decisions final -- how many?", parser, "pitboss")
    ... # doctest: +SKIP
    'SELECT count() FROM decisions FINAL'
    >>> check_query("SELECT * FROM file('/etc/passwd')", parser, "pitboss")  # doctest: +SKIP
    Traceback (most recent call last):
    QueryRefusedError: table function file() reads outside the project's tables: ...

"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from pitboss.sinks.migrations import MIGRATIONS_TABLE, discover_migrations

_CREATED = re.compile(
    r"CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DICTIONARY)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"\{db\}\.(\w+)",
    re.IGNORECASE,
)


def project_tables() -> frozenset[str]:
    """Return the names of the tables and views the schema files create, and the migration log.

    Example:
        >>> {"decisions", "daily_kpis", "schema_migrations"} <= project_tables()
        True

    """
    names = {MIGRATIONS_TABLE}
    for migration in discover_migrations():
        names.update(_CREATED.findall(migration.sql))
    return frozenset(names)


PROJECT_TABLES = project_tables()
ALLOWED_STATEMENTS = (
    "one SELECT (WITH, UNION, INTERSECT, EXCEPT too), SHOW TABLES, SHOW COLUMNS, "
    "SHOW CREATE TABLE, DESCRIBE TABLE or EXPLAIN SELECT"
)
# Scalar functions that read outside the project's tables (a file, a dictionary, another
# table's data or metadata, a model on disk) or change server state. Lower case.
REFUSED_FUNCTIONS = frozenset({
    "file", "joinget", "joingetornull", "hascolumnintable", "catboostevaluate",
    "modelevaluate", "naivebayesclassifier", "generateserialid",
})
REFUSED_FUNCTION_PREFIXES = ("dict",)  # dictGet*, dictHas, dictIsIn, dictGetHierarchy, ...
# `x IN t` reads table t when the right-hand side is a name.
IN_FUNCTIONS = frozenset({
    "in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin",
    "globalnotnullin",
})
# Node types named *Query that may appear inside an allowed SELECT; any other is a statement.
SELECT_NODES = frozenset({"SelectWithUnionQuery", "SelectQuery", "SelectIntersectExceptQuery",
                          "TablesInSelectQuery"})
EXPLAIN_KINDS = frozenset({
    "EXPLAIN", "EXPLAIN AST", "EXPLAIN SYNTAX", "EXPLAIN QUERY TREE", "EXPLAIN PIPELINE",
    "EXPLAIN ESTIMATE",
})
# EXPLAIN's own options (`EXPLAIN indexes = 1 SELECT ...`); server settings are refused.
EXPLAIN_OPTIONS = frozenset({
    "header", "description", "indexes", "actions", "json", "sorting", "projections",
    "distributed", "graph", "compact", "oneline", "run_passes", "dump_passes", "passes",
    "dump_tree", "dump_ast", "optimize",
})
_OUTPUT_FLAGS = frozenset({"is_outfile_append", "is_outfile_truncate",
                           "is_into_outfile_with_stdout"})
_SHOW_TABLES_KEYS = frozenset({"type", "like", "not_like", "case_insensitive_like",
                               "limit_length", "from"}) | _OUTPUT_FLAGS
_SHOW_COLUMNS_KEYS = frozenset({"type", "table", "database", "like", "not_like",
                                "case_insensitive_like", "extended", "full",
                                "limit_length"}) | _OUTPUT_FLAGS
_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
_DESCRIBE = re.compile(rf"DESCRIBE TABLE (?:{_NAME}\.)?{_NAME}")
_SHOW_CREATE = re.compile(rf"SHOW CREATE (?:TABLE|VIEW) (?:{_NAME}\.)?{_NAME}")
_ENGINE_MESSAGE = re.compile(r"DB::Exception: (?P<text>.*?)(?:: In scope |\s\([A-Z_]+\)$|$)",
                             re.DOTALL)
_UNSERIALISABLE = "does not support JSON serialization"
# Statements named by their first two words in refusals ("INSERT INTO", "SYSTEM RELOAD").
_TWO_WORDS = frozenset({"INSERT", "CREATE", "ALTER", "DROP", "SHOW", "SYSTEM", "KILL", "ATTACH",
                        "DETACH", "TRUNCATE", "RENAME", "GRANT", "REVOKE", "EXPLAIN"})


class QueryRefusedError(ValueError):
    """The statement is not one the analyst may run; the message says what was refused."""


class QueryParserUnavailableError(RuntimeError):
    """The in-process engine cannot parse queries (chDB missing or too old)."""


@dataclass(frozen=True)
class EngineParser:
    """ClickHouse's own parser, reached through a chDB client (the embedded engine).

    The analyst's text travels as a bound `String` parameter, never spliced into SQL,
    and both functions only parse: nothing of it is executed here.
    """

    client: Client

    def canonical(self, sql: str) -> str:
        """Return the engine's one-line canonical text of the single statement in `sql`.

        Raises:
            QueryRefusedError: a syntax error, an empty query or several statements.

        """
        return str(self._ask("formatQuerySingleLine", sql))

    def tree(self, statement: str) -> dict[str, Any] | None:
        """Return the engine's parse tree of `statement`, or None for a kind it cannot serialise."""
        try:
            text = self._ask("parseQueryToJSON", statement)
        except QueryRefusedError as exc:
            if _UNSERIALISABLE in str(exc):
                return None
            raise
        tree = orjson.loads(text)
        if not isinstance(tree, dict):
            raise QueryParserUnavailableError(f"parseQueryToJSON returned {type(tree).__name__}")
        return tree

    def _ask(self, function: str, sql: str) -> Any:
        try:
            rows = self.client.query(f"SELECT {function}({{sql:String}})",
                                     parameters={"sql": sql},
                                     settings={"readonly": 1}).result_rows
        except DatabaseError as exc:
            message = str(exc)
            if "UNKNOWN_FUNCTION" in message or "Unknown function" in message:
                raise QueryParserUnavailableError(
                    f"the embedded ClickHouse (chDB) has no {function}(): install chdb>=4.4 "
                    "(pip install -U 'chdb>=4.4') to check analyst queries"
                ) from None
            raise QueryRefusedError(_parse_failure(message)) from None
        return rows[0][0]


def _parse_failure(message: str) -> str:
    """Return one line saying why the engine could not parse a query (no echo of the query)."""
    match = _ENGINE_MESSAGE.search(message)
    text = (match["text"] if match else message).split(". Expected one of", 1)[0]
    text = " ".join(text.split()).rstrip(" .:")
    if "Empty query" in text:
        return "the query is empty"
    if "Multi-statements are not allowed" in text:
        return "only one statement at a time: remove everything after the first ';'"
    return f"not valid ClickHouse SQL: {text[:200]}"


def check_query(
    sql: str, parser: EngineParser, database: str, tables: frozenset[str] = PROJECT_TABLES
) -> str:
    """Return the canonical text of `sql` if an analyst may run it, else refuse it.

    Args:
        sql: what the analyst typed.
        parser: the engine's parser (see `EngineParser`).
        database: the project's ClickHouse database (`clickhouse.database`, or the DSN's).
        tables: the tables and views the project creates.

    Returns:
        The statement to run: the engine's canonical text of `sql`.

    Raises:
        QueryRefusedError: anything but the statements of `ALLOWED_STATEMENTS`, over
            `tables` of `database`, without table functions, `INTO OUTFILE`, `FORMAT`
            or `SETTINGS`.

    """
    statement = parser.canonical(sql)
    scope = _Scope(database, tables, frozenset())
    for pattern in (_DESCRIBE, _SHOW_CREATE):
        match = pattern.fullmatch(statement)
        if match is not None:
            scope.check_table([part for part in match.groups() if part is not None])
            return statement
    if statement.startswith(("DESCRIBE", "SHOW CREATE")):
        raise QueryRefusedError(
            "DESCRIBE and SHOW CREATE are allowed only of a project table "
            f"(DESCRIBE TABLE decisions); this is {statement[:80]!r}"
        )
    tree = parser.tree(statement)
    if tree is None:
        raise _not_allowed(statement)
    scope = _Scope(database, tables, frozenset(_names_defined(tree)))
    kind = tree.get("type")
    if kind == "SelectWithUnionQuery":
        scope.walk(tree)
    elif kind == "ExplainQuery":
        _check_explain(tree, scope, statement)
    elif kind in ("ShowTablesQuery", "ShowColumnsQuery"):
        _check_show(tree, scope, statement)
    else:
        raise _not_allowed(statement)
    return statement


def _not_allowed(statement: str) -> QueryRefusedError:
    return QueryRefusedError(f"{_kind(statement)} is not allowed: only {ALLOWED_STATEMENTS} "
                             "may run")


def _kind(statement: str) -> str:
    """Return the first words of a canonical statement, e.g. `'INSERT INTO'`, for messages."""
    words = statement.split()
    return repr(" ".join(words[:2]) if len(words) > 1 and words[0] in _TWO_WORDS else words[0])


def _names_defined(tree: Any) -> Iterator[str]:
    """Yield the names the query itself defines: `WITH name AS (...)` and expression aliases."""
    for node in _nodes(tree):
        if node.get("type") == "WithElement" and isinstance(node.get("name"), str):
            yield node["name"]
        if isinstance(node.get("alias"), str):
            yield node["alias"]


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Yield every object node of a JSON parse tree, depth first."""
    if isinstance(tree, list):
        for item in tree:
            yield from _nodes(item)
    elif isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)


@dataclass(frozen=True)
class _Scope:
    """What a query may name: the project's database and tables, and its own `WITH` names."""

    database: str
    tables: frozenset[str]
    own_names: frozenset[str]

    def walk(self, tree: Any) -> None:
        """Refuse the first node of `tree` that reaches outside the project or changes output."""
        for node in _nodes(tree):
            self._check_node(node)

    def check_database(self, name: str, what: str) -> None:
        """Refuse a database other than the project's; `what` names the object for the message."""
        if name != self.database:
            raise QueryRefusedError(
                f"{what} is outside the project's database: only the tables of database "
                f"{self.database!r} can be queried"
            )

    def check_table(self, parts: list[str]) -> None:
        """Refuse a table name that is not one of the project's tables in its database."""
        if len(parts) == 2:
            self.check_database(parts[0], f"table {'.'.join(parts)}")
        table = parts[-1]
        if len(parts) not in (1, 2) or (table not in self.tables and not (
                len(parts) == 1 and table in self.own_names)):
            raise QueryRefusedError(
                f"unknown table {'.'.join(parts)!r}: the project's tables are "
                f"{', '.join(sorted(self.tables))}"
            )

    def _check_node(self, node: dict[str, Any]) -> None:
        kind = node.get("type")
        if "out_file" in node:
            raise QueryRefusedError("INTO OUTFILE writes a file: remove it and use --format csv "
                                    "with a shell redirect")
        if "format_ast" in node:
            raise QueryRefusedError("FORMAT is chosen by pitboss: remove it and use --format")
        if kind == "SetQuery" or "settings" in node:
            raise QueryRefusedError("SETTINGS cannot be changed from a query: remove the SETTINGS "
                                    "clause (limits are --max-seconds and --max-rows)")
        if kind == "QueryParameter":
            raise QueryRefusedError("query parameters ({name:Type}) are not supported: write the "
                                    "value in the query")
        if isinstance(kind, str) and kind.endswith("Query") and kind not in SELECT_NODES:
            raise QueryRefusedError(f"a {kind} inside a query is not allowed: only SELECT may be "
                                    "nested")
        if kind == "TableExpression" and "table_function" in node:
            name = node["table_function"].get("name", "?")
            raise QueryRefusedError(f"table function {name}() reads outside the project's tables: "
                                    f"query the tables of database {self.database!r} only")
        if kind == "TableIdentifier":
            self._check_table_identifier(node)
        if kind == "Function":
            self._check_function(node)

    def _check_table_identifier(self, node: dict[str, Any]) -> None:
        parts = node.get("name_parts") or [node.get("name", "")]
        if parts == [""]:  # a parameterised name: its QueryParameter child is refused
            return
        self.check_table([str(part) for part in parts])

    def _check_function(self, node: dict[str, Any]) -> None:
        name = str(node.get("name", ""))
        lowered = name.lower()
        if lowered in REFUSED_FUNCTIONS or lowered.startswith(REFUSED_FUNCTION_PREFIXES):
            raise QueryRefusedError(f"function {name}() reads outside the project's tables "
                                    "(a file, a dictionary, another table or a model)")
        if lowered in IN_FUNCTIONS:
            arguments = node.get("arguments", {}).get("children", [])
            right = arguments[1] if len(arguments) == 2 else {}
            if right.get("type") == "Identifier":
                parts = [str(p) for p in right.get("name_parts") or [right.get("name", "")]]
                if len(parts) > 1 or parts[0] not in self.own_names:
                    self.check_table(parts)


def _check_explain(tree: dict[str, Any], scope: _Scope, statement: str) -> None:
    """Allow `EXPLAIN [AST|SYNTAX|PLAN|PIPELINE|ESTIMATE|QUERY TREE] <allowed SELECT>`."""
    kind = tree.get("kind")
    inner = tree.get("query")
    if kind not in EXPLAIN_KINDS or not isinstance(inner, dict) or \
            inner.get("type") != "SelectWithUnionQuery":
        raise QueryRefusedError(f"EXPLAIN is allowed only of a SELECT; this is "
                                f"{statement[:60]!r}")
    options = tree.get("settings", {}).get("changes", [])
    unknown = sorted({str(o.get("name")) for o in options} - EXPLAIN_OPTIONS)
    if unknown:
        raise QueryRefusedError(f"EXPLAIN option {unknown[0]} is not an EXPLAIN option: server "
                                "settings cannot be changed from a query")
    rest = {key: value for key, value in tree.items() if key not in ("settings", "type")}
    scope.walk(rest)


def _check_show(tree: dict[str, Any], scope: _Scope, statement: str) -> None:
    """Allow `SHOW TABLES [FROM project] [LIKE ...]` and `SHOW COLUMNS FROM <project table>`."""
    allowed = _SHOW_TABLES_KEYS if tree["type"] == "ShowTablesQuery" else _SHOW_COLUMNS_KEYS
    extra = sorted(set(tree) - allowed)
    if extra or any(tree.get(flag) for flag in _OUTPUT_FLAGS):
        raise QueryRefusedError(f"only SHOW TABLES and SHOW COLUMNS FROM <table> are allowed; "
                                f"this is {statement[:60]!r}")
    if tree["type"] == "ShowTablesQuery":
        source = str(tree.get("from", {}).get("name", scope.database))
        scope.check_database(source, f"database {source}")
    else:
        database = tree.get("database") or scope.database
        scope.check_table([str(database), str(tree.get("table", ""))])
    # LIMIT takes an expression, a subquery included: it is walked like any SELECT.
    scope.walk({key: value for key, value in tree.items() if key != "type"})
