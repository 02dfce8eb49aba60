"""The rules between rooms (DESIGN.md), checked on the source's import statements (including the
ones inside functions): the one door, the layering of core's rooms, no cycles, training and Qt kept
out of the engine, and rooms small enough to read."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from installer.training_only import TRAINING_ONLY
from tests.conftest import REPO

# What the CLI, main.py and the app may import from core: the door and the kind registry.
DOOR = ("core.library", "core.kinds")
# room → rooms of core it must never import (lower rooms never import higher ones)
FORBIDDEN_BELOW = {
    "core.store": ("core.kinds", "core.media", "core.model", "core.index", "core.search", "core.evaluation",
                   "core.library", "core.cli", "core.paths", "core.hashing"),
    "core.model": ("core.store", "core.media", "core.index", "core.search", "core.evaluation", "core.library",
                   "core.cli", "core.kinds"),
    "core.kinds": ("core.store", "core.media", "core.index", "core.search", "core.evaluation", "core.library",
                   "core.cli"),
    "core.media": ("core.store", "core.index", "core.search", "core.evaluation", "core.library", "core.cli"),
    "core.index": ("core.search", "core.evaluation", "core.library", "core.cli"),
    "core.search": ("core.index", "core.evaluation", "core.library", "core.cli"),
    "core.melody": ("core.store", "core.media", "core.model", "core.index", "core.search", "core.evaluation",
                    "core.library", "core.cli", "core.kinds"),
    "core.evaluation": ("core.store", "core.index", "core.search", "core.library", "core.cli"),
}
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports; `from core import cli` counts as core.cli."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            for alias in node.names:
                submodule = REPO.joinpath(*node.module.split("."), alias.name)
                if submodule.with_suffix(".py").is_file() or (submodule / "__init__.py").is_file():
                    names.add(f"{node.module}.{alias.name}")
    return names


def sources(*rooms: str):
    for room in rooms:
        base = REPO / room
        yield from ([base] if base.is_file() else sorted(base.rglob("*.py")))


def within(name: str, room: str) -> bool:
    return name == room or name.startswith(room + ".")


def offenders(files, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path} imports {name}"
        for path in files
        for name in sorted(imports_of(path))
        if any(within(name, f) for f in forbidden)
    ]


def test_core_never_imports_qt_or_the_app():
    assert offenders(sources("core"), ("PySide6", "app")) == []


def test_runtime_never_imports_torch_or_training():
    runtime = list(sources("core", "app", "main.py"))
    assert offenders(runtime, ("training", "onnx", "tools", *TRAINING_ONLY)) == []
    assert not (REPO / "core" / "train").exists(), "training code belongs in training/, not core/"


def test_the_apps_own_install_leaves_out_the_training_packages():
    requirements = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower() for requirement in requirements}
    assert names.isdisjoint(TRAINING_ONLY.values()), names


def test_the_cli_and_the_app_go_through_the_one_door():
    callers = list(sources("app", "core/cli.py", "core/cli_folders.py", "core/cli_search.py", "main.py"))
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in callers
        for name in sorted(imports_of(path))
        if within(name, "core") and name not in DOOR + ("core", "core.cli", "core.cli_folders", "core.cli_search")
    ]
    assert wrong == []


def test_lower_rooms_never_import_higher_ones():
    wrong = []
    for room, forbidden in FORBIDDEN_BELOW.items():
        folder = REPO.joinpath(*room.split("."))
        files = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]
        wrong += offenders(files, forbidden)
    assert wrong == []


def test_no_import_cycles_in_core():
    graph = {module_name(path): {name for name in imports_of(path) if within(name, "core")}
             for path in sources("core")}
    cycles = []
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == "open":
                cycles.append(" → ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # A package's __init__ re-exporting its own modules is not a cycle between rooms.
    cycles = [c for c in cycles if len({".".join(m.split(".")[:2]) for m in c.split(" → ")}) > 1]
    assert cycles == []


def test_rooms_are_small_enough_to_read():
    too_long = []
    for path in sources("core"):
        text = path.read_text()
        if text.count("\n") > MAX_FILE_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}(): {length} lines")
    assert too_long == []


def test_the_checker_would_notice_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from PySide6.QtCore import QObject\n    import torch.nn\n    from core import store\n")
    assert len(offenders([bad], ("PySide6", "torch"))) == 2
    assert offenders([bad], ("core.store",)) == [f"{bad} imports core.store"]
