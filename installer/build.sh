#!/usr/bin/env bash
# Build the Linux one-folder app and its tarball from a fresh runtime venv (no torch, no dev extras):
#   installer/build.sh            -> dist/trimodal-bind/ and dist/trimodal-bind-<version>-linux-x86_64.tar.gz
# BUILD_VENV=/path   where the build venv goes (default /tmp/tb-build-venv; it is made afresh)
# REUSE_VENV=1       keep an existing BUILD_VENV (a second build without the download and install)
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
venv="${BUILD_VENV:-/tmp/tb-build-venv}"
version="$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
arch="$(uname -m)"
name="trimodal-bind-$version-linux-$arch"
started=$SECONDS

if [ "${REUSE_VENV:-0}" != 1 ] || [ ! -x "$venv/bin/pyinstaller" ]; then
  echo "== fresh runtime venv in $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # The runtime requirements (pyproject `dependencies`) and PyInstaller; never the dev/train extras.
  PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install --quiet . pyinstaller
  # rapidocr asks for opencv-python, whose wheel carries its own Qt 5 and GUI libraries; the
  # headless wheel is the same cv2 module without them (about 60 MB less, no second Qt in the app).
  "$venv/bin/python" -m pip uninstall --quiet -y opencv-python
  "$venv/bin/python" -m pip install --quiet opencv-python-headless
fi
# The training-only packages (installer/training_only.py) must not reach the build: a runtime
# dependency that pulls one in fails it here.
if ! training_only="$("$venv/bin/python" installer/training_only.py)"; then
  echo "training-only packages in $venv ($training_only): the build must come from the runtime requirements only" >&2
  exit 1
fi

echo "== icons"
"$venv/bin/python" installer/render_icons.py >/dev/null

echo "== pyinstaller"
rm -rf dist/trimodal-bind "dist/$name" "dist/$name.tar.gz"
"$venv/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  installer/trimodal-bind.spec

echo "== strip (only the libraries auditwheel did not patch: installer/strip_libs.py)"
"$venv/bin/python" installer/strip_libs.py dist/trimodal-bind

echo "== tarball"
stage="dist/$name"
mkdir -p "$stage"
cp -a dist/trimodal-bind "$stage/trimodal-bind"
cp installer/install.sh installer/uninstall.sh installer/trimodal-bind.desktop "$stage/"
mkdir -p "$stage/icons"
cp installer/icons/trimodal-bind.svg installer/icons/trimodal-bind-*.png "$stage/icons/"
tar -C dist -czf "dist/$name.tar.gz" "$name"
rm -rf "$stage"

echo "== done in $((SECONDS - started)) s"
du -sh dist/trimodal-bind "dist/$name.tar.gz"
