"""The shape the code keeps: small modules and functions, no import cycle, `admin` imported
only by the composition root, tests that mirror src/, and each domain's errors named in its
own module. Read with `ast`, never imported."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.support import REPO

SRC = REPO / "src"
PACKAGES = ("galaxy_backend", "galaxy_engine", "galaxy_gateway")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# Modules and functions still over the bounds, domains without schemas.py or with codes as
# literals; an entry names its offender until it is cut down.
MODULE_ALLOWLIST: set[str] = set()
FUNCTION_ALLOWLIST: set[str] = set()
SCHEMAS_ALLOWLIST: set[str] = set()
LITERAL_CODE_ALLOWLIST: set[str] = set()
# The composition root: the only modules outside `admin` that may import it (the operators'
# accounts are wired in here; a domain gets the audit trail's Actor, never admin itself).
COMPOSITION_ROOT = {"galaxy_backend.cli", "galaxy_backend.wiring", "galaxy_backend.builders"}
# Tests named for the package they test where it is not a folder of galaxy_backend.
TEST_FOLDERS = {"galaxy_engine": "engine", "galaxy_gateway": "gateway"}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            yield path.relative_to(SRC).as_posix(), path


def _own_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's lines, less those of the decorated functions and the classes defined in
    it (a router factory is measured without its routes, a class factory without its class;
    each is measured on its own). A plain closure counts: it is the function's own work."""
    lines = set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for child in ast.walk(node):
        kinds = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        if child is node or not isinstance(child, kinds):
            continue
        if isinstance(child, ast.ClassDef) or child.decorator_list:
            start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
            lines -= set(range(start, (child.end_lineno or child.lineno) + 1))
    return len(lines)


def _module_name(relative: str) -> str:
    name = relative.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def _imports(tree: ast.Module, name: str, is_package: bool, known: set[str]) -> set[str]:
    """Every module this one imports, but those only a type checker reads; `from p import m`
    is an import of the module p.m when there is one (p itself is then already loaded)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    base = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = base.split(".")
                module = ".".join([*parts[: len(parts) - node.level + 1], module]).strip(".")
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in known else module)
    return found


def _graph() -> dict[str, set[str]]:
    trees = {}
    for relative, path in _modules():
        trees[_module_name(relative)] = (ast.parse(path.read_text()), relative)
    graph: dict[str, set[str]] = {}
    for name, (tree, relative) in trees.items():
        edges = _imports(tree, name, relative.endswith("__init__.py"), set(trees))
        graph[name] = {e for e in edges if e in trees and e != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_is_over_600_lines() -> None:
    long = {
        relative
        for relative, path in _modules()
        if len(path.read_text().splitlines()) > MAX_MODULE_LINES
    }
    assert long - MODULE_ALLOWLIST == set()
    assert MODULE_ALLOWLIST - long == set(), "an entry that fits now leaves the allowlist"


def test_no_function_is_over_80_lines() -> None:
    long = set()
    for relative, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            functions = ast.FunctionDef | ast.AsyncFunctionDef
            if isinstance(node, functions) and _own_lines(node) > MAX_FUNCTION_LINES:
                long.add(f"{relative}:{node.name}")
    assert long - FUNCTION_ALLOWLIST == set()
    assert FUNCTION_ALLOWLIST - long == set(), "an entry that fits now leaves the allowlist"


def test_a_closure_counts_as_its_functions_own_and_a_route_apart() -> None:
    source = """
def factory():
    x = 1
    def helper():
        return x
    @router.get("/")
    async def route():
        return x
    class Made:
        def method(self):
            return x
    return helper, route, Made
"""
    [factory] = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    # def, x =, the closure's two lines, return: the route and the class are measured apart.
    assert _own_lines(factory) == 5


def _admin_importers(graph: dict[str, set[str]]) -> set[str]:
    """Modules outside `galaxy_backend.admin` and the composition root that import it."""
    admin = "galaxy_backend.admin"

    def inside(name: str) -> bool:
        return name == admin or name.startswith(admin + ".")

    return {
        name
        for name, targets in graph.items()
        if not inside(name) and name not in COMPOSITION_ROOT and any(map(inside, targets))
    }


def test_only_the_composition_root_imports_admin() -> None:
    assert _admin_importers(_graph()) == set()


def test_an_import_of_admin_would_be_found() -> None:
    graph = {
        "galaxy_backend.wiring": {"galaxy_backend.admin.service"},
        "galaxy_backend.admin.routes": {"galaxy_backend.admin.service"},
        "galaxy_backend.lobby.routes": {"galaxy_backend.admin.models"},
        "galaxy_backend.user.service": {"galaxy_backend.admin"},
        "galaxy_backend.mail.service": {"galaxy_backend.administration"},
    }
    assert _admin_importers(graph) == {"galaxy_backend.lobby.routes", "galaxy_backend.user.service"}


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_a_cycle_would_be_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_tests_of_each_package_are_in_a_folder_of_its_name() -> None:
    folders = [p.name for p in (SRC / "galaxy_backend").iterdir() if (p / "__init__.py").is_file()]
    folders += list(TEST_FOLDERS.values())
    missing = [f for f in folders if not list((REPO / "tests" / f).glob("test_*.py"))]
    assert missing == []


def test_every_domain_has_its_schemas_and_named_errors() -> None:
    root = SRC / "galaxy_backend"
    with_routes = {p.parent.name for p in root.glob("*/routes.py")}
    without = {d for d in with_routes if not (root / d / "schemas.py").is_file()}
    assert without == SCHEMAS_ALLOWLIST
    literal = re.compile(r"\bcode=\"[a-z_]+\"")
    coded = {
        relative.split("/")[1]
        for relative, path in _modules()
        if relative.startswith("galaxy_backend/") and literal.search(path.read_text())
    }
    assert coded - LITERAL_CODE_ALLOWLIST == set()
