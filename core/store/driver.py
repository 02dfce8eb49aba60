"""Choose one SQLite binding per process and open connections with sqlite-vec loaded.

Python builds without `enable_load_extension` (such as this project's target) cannot load
sqlite-vec through the stdlib, so `sqlean.py` (same DB-API) is the fallback. Two bindings that
both load sqlite-vec in one process crash it, hence the choice is made once and cached.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import sqlite_vec


class DriverUnavailable(RuntimeError):
    """No SQLite binding in this Python can load the sqlite-vec extension."""


@dataclass(frozen=True)
class Driver:
    name: str  # "sqlite3" or "sqlean"
    module: ModuleType

    def connect(self, path: str | Path, timeout: float = 30.0, uri: bool = False):
        conn = self.module.connect(str(path), timeout=timeout, isolation_level=None, uri=uri)
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        return conn

    def versions(self) -> dict[str, str]:
        conn = self.connect(":memory:")
        try:
            sqlite_version, vec_version = conn.execute("select sqlite_version(), vec_version()").fetchone()
        finally:
            conn.close()
        return {"binding": self.name, "sqlite": sqlite_version, "sqlite_vec": vec_version}


def _stdlib_can_load_extensions() -> bool:
    probe = sqlite3.connect(":memory:")
    try:
        return hasattr(probe, "enable_load_extension")
    finally:
        probe.close()


@functools.cache
def get_driver() -> Driver:
    if _stdlib_can_load_extensions():
        return Driver("sqlite3", sqlite3)
    try:
        import sqlean
    except ImportError as exc:
        raise DriverUnavailable(
            "This Python's sqlite3 cannot load extensions and sqlean.py is not installed; "
            "fix: pip install sqlean-py"
        ) from exc
    return Driver("sqlean", sqlean)
