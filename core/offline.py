"""Keep the native libraries we ship off the network. Imported first by `core/__init__.py`.

Trimodal-Bind is an offline app: nothing it runs may phone home. Some of its dependencies do
unless told not to, and the only switch they read is the environment, so this module sets it:

- onnxruntime (1.32, Linux wheel) starts a Microsoft 1DS telemetry uploader
  (core/platform/posix/telemetry_1ds.cc) with every InferenceSession: about 9 s later it resolves
  the collector's host name (DNS queries on port 53, measured with strace during an index run).
  `onnxruntime.disable_telemetry_events()` does not stop it; `ORT_DISABLE_TELEMETRY=1` does, but
  only when it is in the environment BEFORE `import onnxruntime` (set later, or set to 0, it still
  sends). Hence this module is imported by `core/__init__.py`, ahead of any engine module.
- huggingface_hub (pulled in by faster-whisper) checks the Hub and reports usage unless offline.
  Our Whisper model is a local folder, so `HF_HUB_OFFLINE=1` is correct, and
  `HF_HUB_DISABLE_TELEMETRY=1` covers the usage reports should anything reach the Hub code anyway.
- `DO_NOT_TRACK=1` is the cross-tool convention (https://donottrack.sh/), honoured by
  huggingface_hub (constants.py) and other tools a future dependency may bring.

The values are set forcibly, not with setdefault: a user environment saying ORT_DISABLE_TELEMETRY=0
must not turn the telemetry back on. tests/test_offline.py runs a real index under strace and fails
on any DNS or non-loopback traffic.
"""

from __future__ import annotations

import os
import sys

OFFLINE_ENVIRONMENT: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}

# Whether onnxruntime was already loaded when this module ran. If so, it read its environment
# before we set ORT_DISABLE_TELEMETRY, and its telemetry stays on for this process.
_ONNXRUNTIME_WAS_IMPORTED = "onnxruntime" in sys.modules


def apply() -> None:
    """Set the offline switches in this process's environment (children inherit them)."""
    os.environ.update(OFFLINE_ENVIRONMENT)


def onnxruntime_imported_too_early() -> bool:
    """True when onnxruntime was imported before `core`, so ORT_DISABLE_TELEMETRY came too late."""
    return _ONNXRUNTIME_WAS_IMPORTED


apply()
