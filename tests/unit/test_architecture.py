"""One house, no cycles: dependencies between backoffice's parts point one way (docs STYLE.md).

The import graph is read from the source with ``ast``, so an import inside a function or under
``TYPE_CHECKING`` counts as much as one at the top of a module: each is a dependency a reader must follow.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "layers" / "shared" / "python"
PACKAGE = "backoffice"
DEV_ONLY = ("backoffice.local", "backoffice.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LAYER).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imported_names(tree: ast.AST, module: str, package: bool) -> Iterator[str]:
    """Every module name an import statement anywhere in the tree names, relative imports resolved; for
    ``from a import b`` both ``a`` and ``a.b`` (the caller keeps the ones that are modules)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                # A package's own __init__ is level 1 of itself; a plain module's level 1 is its package.
                anchor = anchor[: len(anchor) - node.level + (1 if package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _owned_by(name: str, modules: Collection[str]) -> str | None:
    """The backoffice module an imported name refers to: itself, else its nearest enclosing module."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _backoffice_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((LAYER / PACKAGE).rglob("*.py"))}


def _imports_of(path: Path, module: str, modules: Collection[str]) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    targets = set()
    for name in _imported_names(tree, module, _is_package(path)):
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            owner = _owned_by(name, modules)
            if owner is not None and owner != module:
                targets.add(owner)
    return targets


@functools.cache
def _module_graph() -> dict[str, set[str]]:
    """Parsed once per process (read-only for the tests: each asks it a different question)."""
    modules = _backoffice_modules()
    return {module: _imports_of(path, module, modules) for module, path in modules.items()}


def _part_of(module: str) -> str:
    """The node a module belongs to: its subpackage (``backoffice.approvals``), or itself for a top-level
    module (``backoffice.audit``) and for the package's own ``__init__``."""
    return ".".join(module.split(".")[:2])


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so a long chain cannot hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _cycles(graph: dict[str, set[str]], group: Callable[[str], str]) -> list[str]:
    """One line per strongly connected component of more than one group, naming every module-level import
    that ties the component together."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        grouped[group(module)]
        for target in targets:
            if group(target) != group(module):
                grouped[group(module)].add(group(target))
    found = []
    for component in _strongly_connected(grouped):
        if len(component) < 2:
            continue
        members = set(component)
        edges = sorted(
            f"{module} -> {target}"
            for module, targets in graph.items()
            for target in targets
            if group(module) in members and group(target) in members and group(module) != group(target)
        )
        found.append(f"cycle between {', '.join(component)} through: " + "; ".join(edges))
    return found


def _edges_into(graph: dict[str, set[str]], inside: Callable[[str], bool]) -> list[str]:
    """Every import from a module outside a set into it, as ``module -> target``, sorted."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if not inside(module)
        for target in targets
        if inside(target)
    )


def _dev_only(module: str) -> bool:
    return any(module == part or module.startswith(part + ".") for part in DEV_ONLY)


def test_no_cycle_between_the_subpackages_of_backoffice() -> None:
    # Given the import graph of every backoffice module, imports inside functions included
    graph = _module_graph()
    assert graph.get("backoffice.connectors.ports")
    # When the modules are grouped by subpackage (a top-level module is a group of its own)
    cycles = _cycles(graph, _part_of)
    # Then no two groups import each other, directly or round a longer loop
    assert cycles == [], "\n".join(cycles)


def test_no_cycle_between_the_modules_of_the_approvals_subpackage() -> None:
    # Given the imports among the modules of the approvals subpackage
    graph = {
        module: {target for target in targets if target.startswith("backoffice.approvals.")}
        for module, targets in _module_graph().items()
        if module.startswith("backoffice.approvals.")
    }
    # When each module is its own group
    cycles = _cycles(graph, lambda module: module)
    # Then the page, the service and the store depend one way only
    assert cycles == [], "\n".join(cycles)


def test_only_the_dev_tools_import_the_dev_tools() -> None:
    # Given the import graph of every backoffice module
    graph = _module_graph()
    # When we look for modules outside local and cli that import either
    edges = _edges_into(graph, _dev_only)
    # Then there are none: the deployed layer never needs the local runtime or the command line
    assert edges == [], "modules outside local/cli import them:\n" + "\n".join(edges)


def test_no_lambda_handler_imports_the_dev_tools() -> None:
    # Given every Lambda handler
    handlers = sorted((REPO / "functions").glob("*/app.py"))
    assert handlers
    modules = _backoffice_modules()
    # When its imports are read, imports inside functions included
    edges = sorted(
        f"{handler.relative_to(REPO)} -> {target}"
        for handler in handlers
        for target in _imports_of(handler, "functions." + handler.parent.name + ".app", modules)
        if _dev_only(target)
    )
    # Then none reaches backoffice.local or backoffice.cli
    assert edges == [], "handlers import local/cli:\n" + "\n".join(edges)


def _absolute_imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_the_infrastructure_code_imports_nothing_of_backoffice() -> None:
    # Given every module of the CDK app (infra/ and app.py)
    sources = [*sorted((REPO / "infra").glob("*.py")), REPO / "app.py"]
    # When their imports are read, imports inside functions included
    edges = sorted(
        f"{path.relative_to(REPO)} -> {name}"
        for path in sources
        for name in _absolute_imports(path)
        if name == PACKAGE or name.startswith(PACKAGE + ".")
    )
    # Then there are none: the catalog is plain data both sides read, the stack never runs product code
    assert edges == [], "infra imports backoffice:\n" + "\n".join(edges)


def test_no_shipped_module_imports_sample_or_laptop_code() -> None:
    # Given the import graph, and every module the layer must never ship (samples, generator, report, router)
    from tests.unit.test_layer_contents import DEV_ONLY as NEVER_SHIPPED

    def never_shipped(module: str) -> bool:
        return any(module == part or module.startswith(part + ".") for part in NEVER_SHIPPED)

    graph = _module_graph()
    # When we look for a module that may ship importing one that may not
    edges = _edges_into(graph, never_shipped)
    # Then there is none: the edge itself is refused, before the layer build would leave the module behind
    assert edges == [], "shipped modules import dev-only code:\n" + "\n".join(edges)
