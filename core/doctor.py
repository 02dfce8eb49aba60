"""Environment checks for `main.py doctor`: each says what is wrong and how to fix it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, version, "" if ok else "install Python 3.11 or newer")


def check_store(db_path: Path) -> Check:
    from core.store import DriverUnavailable, get_driver

    try:
        versions = get_driver().versions()
    except DriverUnavailable as exc:
        return Check("sqlite-vec", False, str(exc), "pip install sqlean-py sqlite-vec")
    except Exception as exc:  # a broken extension load must not stop the other checks
        return Check("sqlite-vec", False, f"cannot load sqlite-vec: {exc}", "pip install --force-reinstall sqlite-vec")
    detail = f"{versions['binding']} (SQLite {versions['sqlite']}), sqlite-vec {versions['sqlite_vec']}; database {db_path}"
    folder = db_path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        return Check("sqlite-vec", False, detail + " (folder not writable)", "choose another database with --db PATH")
    return Check("sqlite-vec", True, detail)


def check_model(model_dir: Path) -> Check:
    from core.model import Embedder, ModelError

    from core.kinds import KIND_NAMES
    from core.search.calibration import Calibration

    try:
        embedder = Embedder(model_dir)
        calibrated = Calibration.load(model_dir, KIND_NAMES).calibrated
    except ModelError as exc:
        return Check("model", False, str(exc), "restore resources/model/ from the release (git checkout resources/model)")
    except ImportError as exc:
        return Check("model", False, f"onnxruntime missing: {exc}", "pip install onnxruntime")
    modalities = ", ".join(m.value for m in embedder.modalities)
    relevance = "calibrated relevance" if calibrated else "no calibration.json: relevance depends on the library"
    return Check("model", True, f"{embedder.model_id} (dim {embedder.dim}; towers: {modalities}; {relevance}) in {model_dir}")


def check_audio_device() -> Check:
    try:
        import sounddevice
    except ImportError:
        return Check("audio input", False, "sounddevice is not installed", "pip install sounddevice")
    except OSError as exc:
        return Check("audio input", False, f"PortAudio library missing ({exc})", "apt-get install libportaudio2")
    try:
        devices = [d for d in sounddevice.query_devices() if d.get("max_input_channels", 0) > 0]
    except Exception as exc:
        return Check("audio input", False, f"cannot list audio devices: {exc}", "check the sound system (PulseAudio/PipeWire)")
    if not devices:
        return Check("audio input", False, "no microphone found: recording queries are disabled",
                     "connect a microphone; searching by text and files still works")
    return Check("audio input", True, f"{len(devices)} input device(s), e.g. {devices[0]['name']}")


def check_qt() -> Check:
    # core never imports Qt: look the package up without loading it.
    import importlib.metadata
    import importlib.util

    platform = os.environ.get("QT_QPA_PLATFORM")
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if importlib.util.find_spec("PySide6") is None:
        return Check("qt", False, "PySide6 is not installed", "pip install PySide6-Essentials")
    try:
        version = importlib.metadata.version("PySide6-Essentials")
    except importlib.metadata.PackageNotFoundError:
        version = "(version unknown)"
    if platform:
        return Check("qt", True, f"PySide6 {version}, platform {platform}")
    if sys.platform.startswith("linux") and not display:
        return Check("qt", False, f"PySide6 {version}, but no display (DISPLAY/WAYLAND_DISPLAY unset)",
                     "run on a desktop session, or use the headless commands (index, search, status, eval)")
    return Check("qt", True, f"PySide6 {version}, display {display or 'native'}")


def check_offline() -> Check:
    from core import offline

    if offline.onnxruntime_imported_too_early():
        return Check("offline", False, "onnxruntime was loaded before Trimodal-Bind switched its telemetry off",
                     "import core before onnxruntime (main.py does)")
    unset = [k for k, v in offline.OFFLINE_ENVIRONMENT.items() if os.environ.get(k) != v]
    if unset:
        return Check("offline", False, f"offline switches changed after start-up: {', '.join(unset)}",
                     "do not override them in the app's process")
    return Check("offline", True, "no network use: onnxruntime telemetry and Hugging Face Hub access off")


def run_checks(db_path: Path, model_dir: Path) -> list[Check]:
    return [check_python(), check_store(db_path), check_model(model_dir), check_offline(), check_audio_device(),
            check_qt()]
