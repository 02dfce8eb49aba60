"""Where the app keeps its files: bundled resources inside the project, user data outside it."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "trimodal-bind"

# A frozen (PyInstaller) app keeps resources/ in its bundle folder, sys._MEIPASS, beside the code.
PROJECT_ROOT = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
RESOURCES_DIR = PROJECT_ROOT / "resources"
BUNDLED_MODEL_DIR = RESOURCES_DIR / "model"
# The foundation's zero-training ConSE model, kept for side-by-side evaluation (`eval --model`).
BASELINE_MODEL_DIR = RESOURCES_DIR / "baseline"
DEMO_LIBRARY_DIR = RESOURCES_DIR / "demo"


def user_data_dir() -> Path:
    """The per-user folder for databases; TRIMODAL_BIND_HOME overrides it (tests, portable installs)."""
    override = os.environ.get("TRIMODAL_BIND_HOME")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def user_cache_dir() -> Path:
    """The per-user cache folder (the window's thumbnails), never inside the app's own folder, which
    a frozen install may not be allowed to write; TRIMODAL_BIND_HOME moves it to its cache/ folder."""
    override = os.environ.get("TRIMODAL_BIND_HOME")
    return Path(override) / "cache" if override else Path(platformdirs.user_cache_dir(APP_NAME))


def default_db_path() -> Path:
    return user_data_dir() / "library.db"


def demo_db_path(demo_dir: Path = DEMO_LIBRARY_DIR) -> Path:
    """One demo database per demo folder: a second checkout of the project (or a moved one) would
    otherwise add its own copy of the demo files to the first one's database, and every search
    would list each demo file once per checkout."""
    tag = hashlib.sha1(str(Path(demo_dir).resolve()).encode("utf-8")).hexdigest()[:12]
    return user_data_dir() / f"demo-library-{tag}.db"
