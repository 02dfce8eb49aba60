"""The rules between rooms (DESIGN.md), checked on the source's import statements."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(*rooms: str):
    for room in rooms:
        base = REPO / room
        yield from ([base] if base.is_file() else sorted(base.rglob("*.py")))


def offenders(files, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path} imports {name}"
        for path in files
        for name in imports_of(path)
        if name == forbidden or any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_core_never_imports_qt_or_the_app():
    assert offenders(sources("core"), ("PySide6", "app")) == []


def test_runtime_never_imports_torch_or_the_trainer():
    runtime = [p for p in sources("core", "app", "main.py") if "core/train" not in p.as_posix()]
    assert offenders(runtime, ("torch", "core.train", "onnx")) == []


def test_the_checker_would_notice_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from PySide6.QtCore import QObject\n    import torch.nn\n")
    assert len(offenders([bad], ("PySide6", "torch"))) == 2
