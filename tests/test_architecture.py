"""The shape of the code, kept: the service reaches only the indexer's read side, nothing imports in a
circle, and no function grows past a screen."""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("indexer", "service")
SERVICE_MAY_IMPORT = (
    "indexer.config",
    "indexer.errors",
    "indexer.search",
    "indexer.snapshot",
    "indexer.build.updates",
    "indexer.build.writer",
    "indexer.reading.formats",
    "indexer.reading.sidecar",
    "indexer.watch.claim",
    "indexer.watch.folder",
    "indexer.watch.reconcile",
)
"""The indexer's parts the service may use: its settings, its errors, the query engine and the
snapshot format (the one contract between the two); for writes over HTTP, the one write door
(``indexer.build.updates``) and the writer's own model (``indexer.build.writer``), which file
suffixes have a reader and the metadata sidecar's name; for watched folders, the folder watcher and
what changed while nobody watched (``indexer.watch``)."""
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, skipping ``if TYPE_CHECKING:`` blocks (imports for annotations only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not _type_checking_only(child))


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules ``name`` imports at run time (``from package import module`` resolved to
    the module, ``from package import attribute`` to the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    """Each module's runtime imports of the project's modules."""
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_the_service_reaches_only_the_indexers_read_side() -> None:
    graph = import_graph()
    reached = {
        t
        for s, targets in graph.items()
        if s.startswith("service")
        for t in targets
        if t.startswith("indexer")
    }
    assert reached, "the import graph finds the service's imports of the indexer"
    outside = sorted(m for m in reached if not m.startswith(SERVICE_MAY_IMPORT))
    assert not outside, f"service imports these parts of the indexer: {outside}"
    back = [
        (s, t)
        for s, targets in graph.items()
        if s.startswith("indexer")
        for t in targets
        if t.startswith("service")
    ]
    assert not back, f"the indexer imports the service: {back}"


def test_no_module_imports_itself_in_a_circle() -> None:
    # A module importing from its own package (which Python imports first anyway) is not a circle.
    graph = {
        source: {target for target in targets if not source.startswith(f"{target}.")}
        for source, targets in import_graph().items()
    }
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_is_longer_than_a_screen(package: str) -> None:
    long = []
    for name, path in modules().items():
        if not name.startswith(package):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert not long, long


def test_the_service_searches_from_one_place() -> None:
    """Every endpoint's search goes through ``service.querying`` (limits, filters, thresholds applied
    once): ``Searcher.search`` is called from one place in the service."""
    calls = [
        f"{name}:{node.lineno}"
        for name, path in modules().items()
        if name.startswith("service")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "search"
        and ast.unparse(node.func.value) not in ("re", "querying")  # a regex; the query path itself
    ]
    assert len(calls) == 1 and calls[0].startswith("service.querying:"), calls
