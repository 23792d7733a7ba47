"""The house's layout holds: imports run one way (no circles, no layer importing a higher one), small modules,
folders instead of a flat package, and no sys.path edits in scripts or tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC, ADAPTER = ROOT / "src", ROOT / "src" / "adapter"
# Which parts of adapter/ each part may import (besides itself and the package root's settings()): the request's
# path, top to bottom — gateway → door, hooks → providers → mapping → openai → upstream.
ALLOWED = {
    "upstream": set(),
    "openai": {"upstream"},
    "mapping": {"openai", "upstream"},
    "providers": {"mapping", "openai", "upstream"},
    "keys": {"metering"},  # a key's budget is checked against the spend metering counts
    "metering": set(),
    "tuning": set(),
    "door": {"openai", "upstream", "tuning"},
    "hooks": {"providers", "mapping", "keys", "metering", "upstream"},
    "gateway": {"door", "hooks"},
}
MAX_LINES = 350
MAX_TOP_LEVEL_MODULES = 5


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str, modules: set[str]) -> set[str]:
    """The modules `path` (module `name`) imports, at any depth of the file: `from pkg import sub` imports pkg.sub
    when that is a module, else pkg."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return found


def graph(root: Path, files: list[Path]) -> dict[str, set[str]]:
    modules = {module_name(path, root): path for path in files}
    return {name: {other for other in imported(path, name, set(modules)) if other in modules and other != name}
            for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles, one path each (depth-first search with colours)."""
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for other in sorted(edges[node]):
            if state.get(other) == "open":
                found.append(stack[stack.index(other):] + [other])
            elif other not in state:
                visit(other)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def src_files() -> list[Path]:
    return [path for path in SRC.rglob("*.py") if "egg-info" not in str(path)]


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "adapter" and len(parts) > 1 else None


def test_no_import_circle_in_src():
    assert cycles(graph(SRC, src_files())) == []


@pytest.mark.parametrize("folder", ["scripts", "tests"])
def test_no_import_circle_in_scripts_or_tests(folder):
    root = ROOT / folder if folder == "scripts" else ROOT
    files = sorted((ROOT / folder).rglob("*.py"))
    assert cycles(graph(root, files)) == []


def test_imports_run_one_way_through_the_layers():
    edges = graph(SRC, src_files())
    wrong = []
    for module, targets in edges.items():
        part = part_of(module)
        if part is None:
            continue
        for target in targets:
            other = part_of(target)
            if other is not None and other != part and other not in ALLOWED[part]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_every_part_has_a_place_in_the_layers():
    parts = {path.stem if path.is_file() else path.name for path in ADAPTER.iterdir()
             if path.name != "__pycache__" and path.name != "__init__.py"}
    assert parts == set(ALLOWED)


def test_the_package_is_folders_with_few_top_level_modules():
    top_level = sorted(path.name for path in ADAPTER.glob("*.py"))
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level


def test_no_module_in_src_is_longer_than_the_limit():
    long = {str(path.relative_to(ROOT)): n for path in src_files()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_module_says_what_it_is_for():
    undocumented = [str(path.relative_to(ROOT)) for path in src_files()
                    if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None]
    assert undocumented == []


@pytest.mark.parametrize("folder", ["scripts", "tests"])
def test_nothing_edits_sys_path(folder):
    editing = []
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in ("insert", "append", "extend")
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "path"
                    and isinstance(node.value.value, ast.Name) and node.value.value.id == "sys"):
                editing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert editing == []
