"""The frozen one-folder app (installer/build.sh) run headless, with no network, as a user would.

PyInstaller is not in the dev extras: a build takes about ten minutes on two cores and downloads
the runtime wheels into a fresh venv, more than CI's time allows. So these tests run against an
app folder already built (dist/trimodal-bind, or TRIMODAL_BIND_FROZEN_APP=<folder>), build one
first when TRIMODAL_BIND_BUILD_APP=1, and are skipped with the reason otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from installer.training_only import TRAINING_ONLY
from tests.conftest import DEMO, REPO
from tests.test_hum_search import TUNES, write_tune

ODE = TUNES["ode.wav"]

APP_FOLDER = Path(os.environ.get("TRIMODAL_BIND_FROZEN_APP", REPO / "dist" / "trimodal-bind"))
BINARY = APP_FOLDER / "trimodal-bind"

pytestmark = pytest.mark.slow
KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TMPDIR")  # what a fresh user's session still has


def _no_network_prefix() -> list[str] | None:
    """`unshare -n` (root) or `unshare -rn` (an unprivileged user namespace), whichever runs here."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return None


@pytest.fixture(scope="module")
def frozen_app() -> Path:
    if not BINARY.exists() and os.environ.get("TRIMODAL_BIND_BUILD_APP") == "1":
        subprocess.run(["nice", "-n", "10", str(REPO / "installer" / "build.sh")], check=True)
    if not BINARY.exists():
        why = ("PyInstaller is not installed here (it is not in the dev extras)"
               if importlib.util.find_spec("PyInstaller") is None else "PyInstaller is installed")
        pytest.skip(f"no frozen app at {APP_FOLDER}: {why}; build one with installer/build.sh "
                    "(about 10 minutes) or set TRIMODAL_BIND_BUILD_APP=1")
    return APP_FOLDER


@pytest.fixture(scope="module")
def offline() -> list[str]:
    prefix = _no_network_prefix()
    if prefix is None:
        pytest.skip("unshare -n is not permitted here (no network namespace for an offline run)")
    return prefix


@pytest.fixture
def user_home(tmp_path) -> dict[str, str]:
    """A fresh user: platformdirs' folders under tmp, no display, nothing from the dev venv."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENVIRONMENT}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
               XDG_CONFIG_HOME=str(home / "config"))
    return env


def run_frozen(app: Path, prefix: list[str], env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, str(app / "trimodal-bind"), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def test_frozen_app_has_no_torch_and_no_training_code(frozen_app):
    internal = frozen_app / "_internal"
    assert (internal / "resources" / "model" / "model.json").is_file()
    assert (internal / "resources" / "demo" / "notes" / "our_cat.md").is_file()
    names = {path.name for path in internal.iterdir()}
    assert not names & {"training", "tests", "tkinter", "matplotlib", *TRAINING_ONLY}
    assert [str(p) for p in frozen_app.rglob("*") if p.is_symlink() and not p.exists()] == []  # no dangling links


def test_version_and_doctor_offline(frozen_app, offline, user_home, tmp_path):
    from core import __version__

    version = run_frozen(frozen_app, offline, user_home, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"Trimodal-Bind {__version__}"
    doctor = run_frozen(frozen_app, offline, user_home, "doctor", cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    for essential in ("python", "sqlite-vec", "model", "offline"):
        assert f"[ok] {essential}" in doctor.stdout, doctor.stdout
    # the model is the bundled one, found inside the app folder (sys._MEIPASS), not the checkout's
    assert str(frozen_app / "_internal" / "resources" / "model") in doctor.stdout


def test_index_and_search_the_demo_offline(frozen_app, offline, user_home, tmp_path):
    library = tmp_path / "library"
    shutil.copytree(DEMO, library)
    write_tune(library / "memos" / "ode.wav", ODE)  # for the melody channel (pYIN in numpy) frozen
    before = {p: p.stat().st_mtime_ns for p in library.rglob("*")}
    app_files = {p: p.lstat().st_mtime_ns for p in frozen_app.rglob("*")}
    db = tmp_path / "frozen.db"
    index = run_frozen(frozen_app, offline, user_home, "--db", str(db), "index", str(library), cwd=tmp_path)
    assert index.returncode == 0, index.stdout + index.stderr
    status = run_frozen(frozen_app, offline, user_home, "--db", str(db), "status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["failed"] == [], report["failed"]
    assert sum(counts["done"] for counts in report["items"].values()) >= 35
    search = run_frozen(frozen_app, offline, user_home, "--db", str(db), "search", "--json", "a cat", cwd=tmp_path)
    assert search.returncode == 0, search.stderr
    top3 = [hit["path"] for hit in json.loads(search.stdout)[:3]]
    assert str(library / "photos" / "chelsea_the_cat.jpg") in top3
    assert str(library / "notes" / "our_cat.md") in top3
    hummed = tmp_path / "hummed.wav"
    write_tune(hummed, [p - 5 for p in ODE[3:17]], seconds_each=0.3, timbre="hum", seed=11)
    hum = run_frozen(frozen_app, offline, user_home, "--db", str(db), "search", "--json", "--hum", str(hummed),
                     cwd=tmp_path)
    assert hum.returncode == 0, hum.stderr
    assert json.loads(hum.stdout)[0]["path"] == str(library / "memos" / "ode.wav")
    assert {p: p.stat().st_mtime_ns for p in library.rglob("*")} == before  # the user's folder untouched
    assert {p: p.lstat().st_mtime_ns for p in frozen_app.rglob("*")} == app_files  # and the app's own


def test_first_run_without_a_display_indexes_the_bundled_demo(frozen_app, offline, user_home, tmp_path):
    first = run_frozen(frozen_app, offline, user_home, "--demo", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    data = Path(user_home["XDG_DATA_HOME"]) / "trimodal-bind"
    assert list(data.glob("demo-library-*.db")), "the demo database goes to the user's data folder"
    search = run_frozen(frozen_app, offline, user_home, "--demo", "search", "--json", "--kind", "image", "coffee",
                        cwd=tmp_path)
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout)[0]["path"].endswith("photos/coffee.jpg")


@pytest.fixture(scope="module")
def tarball(frozen_app) -> Path:
    found = sorted((frozen_app.parent).glob("trimodal-bind-*-linux-*.tar.gz"))
    if not found:
        pytest.skip(f"no tarball beside {frozen_app} (installer/build.sh makes it)")
    return found[-1]


def test_the_tarball_installs_upgrades_and_uninstalls_for_one_user(tarball, offline, tmp_path):
    home = tmp_path / "a user's home"  # spaces and a quote in the path, as real ones can have
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENVIRONMENT} | {"HOME": str(home)}
    unpacked = tmp_path / "downloads"
    unpacked.mkdir()
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(unpacked)], check=True)
    (folder,) = unpacked.iterdir()
    data = home / ".local" / "share"
    app, launcher = data / "trimodal-bind" / "app", home / ".local" / "bin" / "trimodal-bind"
    menu_entry = data / "applications" / "trimodal-bind.desktop"

    def run(*command):
        done = subprocess.run([str(c) for c in command], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run(folder / "install.sh")
    assert f'Exec="{app}/trimodal-bind"' in menu_entry.read_text()
    assert (data / "icons" / "hicolor" / "48x48" / "apps" / "trimodal-bind.png").is_file()
    assert run(*offline, launcher, "--version").strip()
    database = data / "trimodal-bind" / "library.db"  # stands for the user's libraries
    database.write_bytes(b"the user's library")

    run(folder / "install.sh")  # again: an upgrade in place
    assert database.read_bytes() == b"the user's library" and not (data / "trimodal-bind" / "app.new").exists()

    run(app / "uninstall.sh")
    assert not app.exists() and not launcher.exists() and not menu_entry.exists()
    assert not list((data / "icons").rglob("trimodal-bind.*"))
    assert database.read_bytes() == b"the user's library"  # kept without --purge

    run(folder / "install.sh")
    run(app / "uninstall.sh", "--purge")
    assert not (data / "trimodal-bind").exists()
    assert (folder / "trimodal-bind" / "trimodal-bind").is_file()  # the unpacked tarball is left as it was
