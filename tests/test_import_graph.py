"""The package's import graph: no import cycles, and the layers import only downwards.

What counts as an import of module A by module B: every `import` and `from ... import`
statement in B's source that names a `pitboss` module, wherever it stands: at the top,
inside a function, or under `if TYPE_CHECKING:`. A type-only or function-local import
that closes a cycle still makes two modules that need each other (hiding the import is
how such cycles used to be held together), so it counts. `from P import name` imports
the module `P.name` when there is one, else `P`. Importing `pitboss.a.b.c` also imports
the packages `pitboss.a` and `pitboss.a.b` (Python runs their `__init__` first), except
the packages that contain B itself, which are being imported already. Imports by a
computed name (`importlib.import_module`, as the CLI's command discovery does) are not
seen; a package's `__init__` re-exporting its own modules is not a cycle.

Modules are found under `pitboss/`, following the links to the top-level folders
(`pitboss/operators -> ../operators`, ...): the names they are installed and imported
under. The same rules, applied to whole folders (`pitboss.config`, `pitboss.operators`,
... and each top-level module), say that the folders form layers: no two folders import
each other, and `config/` is the bottom of the domain.
"""

from __future__ import annotations

import ast
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ImportGraph:
    """Modules of a package and, for each, the modules it imports with a line of each."""

    edges: dict[str, dict[str, int]]
    files: dict[str, Path]
    root: Path

    def cycles(self) -> list[list[str]]:
        """Return cycles that, together, take every import that is part of a cycle.

        For each import `a -> b` with a way back from `b` to `a`, the shortest cycle
        through it (`a -> b`, then the fewest imports back); each cycle once, starting
        from its smallest name.
        """
        found = set()
        for here, targets in self.edges.items():
            for there in targets:
                back = self._shortest_path(there, here)
                if back is not None:
                    cycle = [here, *back[:-1]]
                    first = cycle.index(min(cycle))
                    found.add(tuple(cycle[first:] + cycle[:first]))
        return sorted((list(cycle) for cycle in found), key=lambda c: (len(c), c))

    def describe(self, cycle: list[str]) -> str:
        """Return `a (a.py:12) -> b (b.py:40) -> a`: each import with the line it is on."""
        steps = []
        for here, there in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
            where = Path(os.path.realpath(self.files[here])).relative_to(self.root)
            steps.append(f"{here} ({where}:{self.edges[here][there]})")
        return " -> ".join([*steps, cycle[0]])

    def importers(self, of: str, within: str) -> list[str]:
        """Return `module:line -> imported` for each import of package `of` by package `within`."""
        return [f"{m}:{line} -> {target}"
                for m, targets in sorted(self.edges.items()) if _inside(m, within)
                for target, line in sorted(targets.items()) if _inside(target, of)]

    def by_folder(self) -> ImportGraph:
        """Return the graph of the folders (`pitboss.operators`, ...) and top-level modules."""
        edges: dict[str, dict[str, int]] = {}
        for module, targets in self.edges.items():
            here = edges.setdefault(folder_of(module), {})
            for target, line in targets.items():
                if folder_of(target) != folder_of(module):
                    here.setdefault(folder_of(target), line)
        return ImportGraph(edges, {f: self.files[f] for f in edges}, self.root)

    def _shortest_path(self, start: str, end: str) -> list[str] | None:
        """Return the modules from `start` to `end` (both included) by the fewest imports."""
        previous = {start: start}
        queue = deque([start])
        while queue:
            here = queue.popleft()
            if here == end:
                path = [end]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            for there in sorted(self.edges[here]):
                if there not in previous:
                    previous[there] = here
                    queue.append(there)
        return None


def folder_of(module: str) -> str:
    """Return the folder (`pitboss.operators`, ...) or top-level module that `module` is in."""
    return ".".join(module.split(".")[:2])


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def package_modules(package_dir: Path) -> dict[str, Path]:
    """Return every module under `package_dir` by its dotted name, following links."""
    modules = {}
    for folder, _, names in os.walk(package_dir, followlinks=True):
        for name in names:
            if not name.endswith(".py"):
                continue
            relative = (Path(folder) / name).relative_to(package_dir).with_suffix("")
            parts = [package_dir.name, *relative.parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = Path(folder) / name
    return modules


def imported_names(module: str, path: Path) -> dict[str, int]:
    """Return each dotted name `module`'s source imports (anywhere in it), with its first line."""
    is_package = path.name == "__init__.py"
    names: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*parts, base] if base else parts)
            found = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in found:
            names[name] = min(names.get(name, node.lineno), node.lineno)
    return names


def build_graph(package_dir: Path) -> ImportGraph:
    """Return the import graph of the package at `package_dir` (rules in the module docstring)."""
    files = package_modules(package_dir)
    edges: dict[str, dict[str, int]] = {}
    for module, path in files.items():
        targets: dict[str, int] = {}
        for name, line in imported_names(module, path).items():
            if name not in files:
                continue  # another package, or a name imported from a module
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                target = ".".join(parts[:depth])
                if target in files and target != module and not _inside(module, target):
                    targets[target] = min(targets.get(target, line), line)
        edges[module] = targets
    return ImportGraph(edges, files, Path(os.path.realpath(package_dir.parent)))


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    return build_graph(ROOT / "pitboss")


def test_the_package_has_no_import_cycle(graph: ImportGraph) -> None:
    assert len(graph.files) > 100, "the package's modules were not found"
    cycles = [graph.describe(cycle) for cycle in graph.cycles()]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_folders_import_each_other_one_way(graph: ImportGraph) -> None:
    """Whole folders too: what operators/ needs from config/ must not need operators/ back."""
    folders = graph.by_folder()
    found = []
    for cycle in folders.cycles():
        steps = zip(cycle, [*cycle[1:], cycle[0]], strict=True)
        found.append(" -> ".join([*cycle, cycle[0]]) + ", e.g. " + "; ".join(
            _of_a_module(graph.importers(of=there, within=here), there)
            for here, there in steps))
    assert not found, "folders that import each other:\n" + "\n".join(found)


def _of_a_module(imports: list[str], folder: str) -> str:
    """Return the first import of a module of `folder` rather than of its `__init__`."""
    return next((i for i in imports if not i.endswith(f" -> {folder}")), imports[0])


USER_INTERFACE = ("pitboss.commands", "pitboss.console", "pitboss.cli", "pitboss.app")
RUNTIME = ("pitboss.flows", "pitboss.sinks", "pitboss.replay")


@pytest.mark.parametrize(("layer", "above"), [
    *((layer, above) for layer in ("pitboss.operators", "pitboss.models", "pitboss.config")
      for above in (*RUNTIME, *USER_INTERFACE)),
    *(("pitboss.sinks", above) for above in ("pitboss.flows", "pitboss.replay", *USER_INTERFACE)),
    *(("pitboss.flows", above) for above in ("pitboss.replay", *USER_INTERFACE)),
    *(("pitboss.config", above) for above in ("pitboss.operators", "pitboss.models")),
])
def test_a_layer_imports_nothing_above_it(graph: ImportGraph, layer: str, above: str) -> None:
    """The domain (operators, models, config) knows no engine, store or command; and so on.

    Within the domain, `config/` is the bottom: it imports no operator and no model, so
    reading the configuration loads neither.
    """
    assert any(_inside(m, layer) for m in graph.files)
    assert graph.importers(of=above, within=layer) == []


def write_package(root: Path, sources: dict[str, str]) -> Path:
    """Write a package `pkg` under `root` from `{"a.py": source, ...}`; return its folder."""
    package = root / "pkg"
    for name, source in {"__init__.py": "", **sources}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(source)
    return package


def test_a_type_only_or_function_local_import_closing_a_cycle_is_found(tmp_path: Path) -> None:
    package = write_package(tmp_path, {
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "b.py": "def load():\n    from pkg.c import c\n",
        "c.py": "\nfrom . import a\n",
        "d.py": "import pkg.a\n",
    })
    graph = build_graph(package)
    assert graph.cycles() == [["pkg.a", "pkg.b", "pkg.c"]]
    assert graph.describe(graph.cycles()[0]) == (
        "pkg.a (pkg/a.py:3) -> pkg.b (pkg/b.py:2) -> pkg.c (pkg/c.py:2) -> pkg.a")


def test_importing_a_module_imports_its_packages_first(tmp_path: Path) -> None:
    package = write_package(tmp_path, {
        "settings.py": "from pkg.models.config import Config\n",
        "models/__init__.py": "from pkg.models.trained import Trained\n",
        "models/config.py": "",
        "models/trained.py": "from pkg.models.config import Config\nimport pkg.settings\n",
    })
    graph = build_graph(package)
    assert graph.cycles() == [["pkg.models", "pkg.models.trained", "pkg.settings"]]
    assert graph.importers(of="pkg.settings", within="pkg.models") == [
        "pkg.models.trained:2 -> pkg.settings"]
