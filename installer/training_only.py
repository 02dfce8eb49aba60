"""The packages only training needs: torch, and librosa with what it pulls in (numba, llvmlite,
scipy, scikit-learn; about 250 MiB of the packaged app, whose melody channel has its own pYIN in
numpy). One list for the app's requirements and imports (tests/test_architecture.py), the PyInstaller
spec's excludes and the build venv's check:

    python installer/training_only.py      (build.sh) prints those this Python can import; exit 1 if any
"""

from __future__ import annotations

import importlib.util
import sys

# import name -> distribution name
TRAINING_ONLY = {
    "torch": "torch", "librosa": "librosa", "numba": "numba", "llvmlite": "llvmlite", "scipy": "scipy",
    "sklearn": "scikit-learn",
}


def installed() -> list[str]:
    return [name for name in TRAINING_ONLY if importlib.util.find_spec(name) is not None]


if __name__ == "__main__":
    found = installed()
    print(" ".join(found))
    sys.exit(1 if found else 0)
