"""Shared fixtures. Qt must be told to render offscreen before PySide6 is imported anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The training code's librosa (numba) compiles once into this cache instead of in every test process.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "trimodal-bind-numba"))

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO = REPO / "resources" / "demo"


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path, monkeypatch):
    """No test ever touches the real user's library database."""
    monkeypatch.setenv("TRIMODAL_BIND_HOME", str(tmp_path / "user-data"))


@pytest.fixture(scope="session")
def embedder():
    from core.model import Embedder

    return Embedder()


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    """A private copy of the demo library, so tests can add, break and move files in it."""
    target = tmp_path / "library"
    shutil.copytree(DEMO, target)
    return target


def required_tool(name: str) -> str:
    """A program's path. `installer/setup.sh dev` (the README's test command) installs the tools
    the tests use, so one missing is a broken setup: fail, never quietly skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: run `installer/setup.sh dev` (or apt-get install {name})",
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def espeak_ng() -> str:
    return required_tool("espeak-ng")


def run_cli(*args: str, cwd: Path = REPO, env_extra: dict | None = None, python_prefix: list | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python main.py ARGS` in a subprocess, as a user would."""
    env = dict(os.environ)
    env.update(env_extra or {})
    command = [sys.executable, *(python_prefix or []), str(REPO / "main.py"), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
