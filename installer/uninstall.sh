#!/usr/bin/env bash
# Remove Trimodal-Bind for this user: the app, its launcher, menu entry and icons.
# Your libraries' databases (beside the app, in ~/.local/share/trimodal-bind) are kept unless
# --purge is given; your photos, recordings and notes are never touched.
set -euo pipefail
data="${XDG_DATA_HOME:-$HOME/.local/share}"

rm -rf "$data/trimodal-bind/app"
rm -f "$HOME/.local/bin/trimodal-bind" "$data/applications/trimodal-bind.desktop"
rm -f "$data"/icons/hicolor/*/apps/trimodal-bind.png "$data/icons/hicolor/scalable/apps/trimodal-bind.svg"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true

if [ "${1:-}" = "--purge" ]; then
  # the databases (platformdirs), the settings (QSettings) and the cache (thumbnails, pasted images)
  rm -rf "$data/trimodal-bind" "${XDG_CACHE_HOME:-$HOME/.cache}/trimodal-bind" "${XDG_CONFIG_HOME:-$HOME/.config}/Trimodal-Bind"
  echo "Trimodal-Bind and its libraries' databases are removed (your files are untouched)."
else
  echo "Trimodal-Bind is removed. Its databases stay in $data/trimodal-bind; uninstall.sh --purge removes them."
fi
