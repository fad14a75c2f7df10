"""What the shared layer ships: the ``backoffice`` modules the Lambda handlers reach, and those packages' data.

The layer is built from the handlers, not from the package minus a deny list, so that a module no handler reaches
(the local runtime, the ``backoffice`` command, the sample firm, the sample month of process intelligence, a new module
nobody imports yet) stays on the laptop without anyone having to remember to exclude it.

- Modules: the closure, read with ``ast`` (nothing is imported), of the ``backoffice`` imports of every
  ``functions/*/app.py``: module-level imports and imports inside functions alike, ``from a import b`` where ``b``
  is a submodule, relative imports, and every package ``__init__.py`` on the way (Python runs them). An import
  under ``if TYPE_CHECKING:`` counts too: shipping a few lines too many is safe, one too few fails at run time.
  A module imported by name at run time (``importlib.import_module("backoffice.x")``) is not seen: the one package
  that does so (``backoffice.extraction``'s lazy exports) names each module under ``TYPE_CHECKING`` too, and
  ``tests/unit/test_layer_contents.py`` imports every handler against the ship list to keep it so.
- Data: the files a shipped module reads next to itself (``Path(__file__).with_name(...)``,
  ``importlib.resources.files(package) / "data" / ...``). Every file that is not Python in the folder of a shipped
  module's package ships, with the plain folders (no ``__init__.py``) under it: ``vendors/data/``, the approvals' ``templates/``. A package whose modules all stay behind keeps its data behind (``local/data/``).

Only the standard library here: the unit tests read the ship list without loading CDK.
"""

from __future__ import annotations

import ast
import functools
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_PACKAGE_MARKER = "__init__.py"
_NEVER_SHIPPED_SUFFIXES = (".py", ".pyc", ".pyo")


@dataclass(frozen=True)
class LayerContents:
    """The modules (dotted names) and the files (paths inside the package) of the layer's ``backoffice``."""

    package_dir: Path
    modules: frozenset[str]
    files: tuple[Path, ...]

    def relative_files(self) -> list[str]:
        return [path.relative_to(self.package_dir).as_posix() for path in self.files]

    def python_lines(self) -> int:
        return sum(_line_count(path) for path in self.files if path.suffix == ".py")

    def copy_to(self, destination: Path) -> None:
        """Copy the files into ``destination``, which becomes the layer's ``backoffice`` folder."""
        for path in self.files:
            copied = destination / path.relative_to(self.package_dir)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copied)


def layer_contents(package_dir: Path, handlers_dir: Path) -> LayerContents:
    """What the layer ships of the package in ``package_dir``, for the handlers in ``handlers_dir/*/app.py``."""
    handlers = handler_files(handlers_dir)
    if not handlers:
        raise FileNotFoundError(f"no handler (*/app.py) in {handlers_dir}: the layer would ship nothing")
    modules = reached_modules(package_dir, handlers)
    sources = package_modules(package_dir)
    python = {sources[name] for name in modules}
    data = {path for directory in {path.parent for path in python} for path in _data_files(directory)}
    return LayerContents(package_dir=package_dir, modules=modules, files=tuple(sorted(python | data)))


def handler_files(handlers_dir: Path) -> list[Path]:
    return sorted(handlers_dir.glob("*/app.py"))


def package_modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its name, with its ``__init__.py``)."""
    found: dict[str, Path] = {}
    for path in package_dir.rglob("*.py"):
        relative = path.relative_to(package_dir.parent).with_suffix("")
        if "__pycache__" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        found[".".join(parts)] = path
    return found


def handler_imports(handlers: Iterable[Path], package: str) -> dict[Path, frozenset[str]]:
    """The package's modules each handler imports itself (not through other modules)."""
    return {
        handler: frozenset(
            name
            for name in imported_names(handler, "app")
            if name == package or name.startswith(f"{package}.")
        )
        for handler in handlers
    }


def reached_modules(package_dir: Path, handlers: Iterable[Path]) -> frozenset[str]:
    """The package's modules the handlers import, directly or through one another, with their parent packages."""
    modules = package_modules(package_dir)
    reached: set[str] = set()
    pending = [name for handler in handlers for name in imported_names(handler, "app")]
    while pending:
        name = pending.pop()
        if name not in modules:
            continue  # another distribution, or ``from module import attribute``: the attribute is no module
        for parent in _with_parents(name):
            if parent in modules and parent not in reached:
                reached.add(parent)
                pending.extend(imported_names(modules[parent], parent))
    return frozenset(reached)


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name an import statement of ``path`` may load as a module, wherever the statement is.

    ``from a import b`` yields ``a`` and ``a.b``: whether ``b`` is a submodule or an attribute is for the caller,
    which knows the package's modules.
    """
    source = path.read_text(encoding="utf-8")
    try:
        return set(_names_imported_by(source, module, path.name == _PACKAGE_MARKER))
    except SyntaxError:
        ast.parse(source, filename=str(path))  # raises again, naming the file
        raise


# Parsing is most of a layer build's CPU (a synth, each test that builds the layer or the app): a module's names
# are read once per process for each source text, wherever the file is (a test's copy of the package too).
@functools.lru_cache(maxsize=4096)
def _names_imported_by(source: str, module: str, is_package: bool) -> frozenset[str]:
    tree = ast.parse(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return frozenset(names)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    # ``from . import x`` in a package's __init__ is relative to the package itself, elsewhere to the parent.
    anchor = module.split(".") if is_package else module.split(".")[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _with_parents(name: str) -> Iterator[str]:
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def _data_files(directory: Path) -> Iterator[Path]:
    for path in directory.iterdir():
        if path.name == "__pycache__":
            continue
        if path.is_dir():
            # A subpackage ships only if one of its modules is reached; a plain folder is the package's data.
            if not (path / _PACKAGE_MARKER).is_file():
                yield from (child for child in path.rglob("*") if child.is_file() and _is_data(child))
        elif _is_data(path):
            yield path


def _is_data(path: Path) -> bool:
    return path.suffix not in _NEVER_SHIPPED_SUFFIXES and "__pycache__" not in path.parts


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())
