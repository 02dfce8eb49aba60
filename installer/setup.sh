#!/usr/bin/env bash
# Set up Trimodal-Bind on Debian 12 / Ubuntu: system libraries, a virtual environment, Python packages.
#   installer/setup.sh runtime   what the app needs (no torch)
#   installer/setup.sh dev       the runtime plus tests, training and export tools (torch==2.13.0)
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-runtime}"
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"

# Qt needs these even offscreen; the real-window (xcb) ones and PortAudio are for the desktop app.
apt_common=(libglib2.0-0 libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libportaudio2)
apt_window=(libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
            libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0)
case "$profile" in
  runtime) apt_packages=("${apt_common[@]}" "${apt_window[@]}"); extras="" ;;
  # The tests speak words with espeak-ng (speech recognition, the speech head and gate) and watch
  # an index run's network calls with strace (tests/test_offline.py: nothing may leave the machine).
  dev)     apt_packages=("${apt_common[@]}" espeak-ng strace); extras="[dev]" ;;
  *) echo "usage: $0 runtime|dev" >&2; exit 2 ;;
esac

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing system libraries: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    log="$(mktemp)"
    if ! { $sudo_cmd apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
      cat "$log" >&2
      echo "Could not install the system libraries above; install them by hand and run again." >&2
      exit 1
    fi
    rm -f "$log"
  fi
else
  echo "Not a Debian system: make sure Qt's and PortAudio's system libraries are installed." >&2
fi

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Python 3.11 or newer is needed (found $("$python" --version 2>&1))." >&2; exit 1; }
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"

# Skip pip when nothing it installs from has changed since the last successful run.
stamp="$venv/.installed-$profile"
fingerprint="$(cat pyproject.toml "$0" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$fingerprint" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # PYTHONWARNINGS quiets setuptools' editable-install notices, which are not for users.
  PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install --quiet -e ".$extras"
  if [ "$profile" = dev ]; then
    # The aisfx sound-effects CNN (export of the audio trunk, parity tests). Its metadata pins an
    # old numpy/librosa it does not need, so it is installed without dependencies.
    "$venv/bin/python" -m pip install --quiet --no-deps aisfx==0.1.2
  fi
  echo "$fingerprint" > "$stamp"
fi
