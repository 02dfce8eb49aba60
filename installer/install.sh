#!/usr/bin/env bash
# Install Trimodal-Bind for this user (no root): run from the unpacked tarball, or double-click it
# in a file manager that runs scripts ("Run as a Program"). Run it again to upgrade in place.
#   ~/.local/share/trimodal-bind/app/ the app folder (its parent also holds the libraries' databases,
#                                     platformdirs' data folder, which an upgrade leaves alone)
#   ~/.local/bin/trimodal-bind        a launcher (the headless commands: trimodal-bind doctor)
#   ~/.local/share/applications/      the menu entry;  ~/.local/share/icons/hicolor/  its icon
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
app="$data/trimodal-bind/app"
bin="$HOME/.local/bin"

[ -x "$here/trimodal-bind/trimodal-bind" ] || { echo "Run this from the unpacked tarball (trimodal-bind/ is missing)." >&2; exit 1; }

# Copy beside the old version first, then swap, so a failed copy leaves the old one working.
mkdir -p "$data/trimodal-bind" "$bin" "$data/applications"
rm -rf "$app.new"
cp -a "$here/trimodal-bind" "$app.new"
rm -rf "$app"
mv "$app.new" "$app"

cat > "$bin/trimodal-bind" <<LAUNCHER
#!/bin/sh
exec "$app/trimodal-bind" "\$@"
LAUNCHER
chmod 755 "$bin/trimodal-bind"

# The menu entry runs the app by its full path: ~/.local/bin is not on every desktop's PATH.
sed "s|^Exec=.*|Exec=\"$app/trimodal-bind\"|" "$here/trimodal-bind.desktop" > "$data/applications/trimodal-bind.desktop"
chmod 644 "$data/applications/trimodal-bind.desktop"

for png in "$here"/icons/trimodal-bind-*.png; do
  size="$(basename "$png" .png)"; size="${size##*-}"
  mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
  cp "$png" "$data/icons/hicolor/${size}x${size}/apps/trimodal-bind.png"
done
mkdir -p "$data/icons/hicolor/scalable/apps"
cp "$here/icons/trimodal-bind.svg" "$data/icons/hicolor/scalable/apps/trimodal-bind.svg"
cp "$here/uninstall.sh" "$app/uninstall.sh"

# Refresh the menu and icon caches where the tools exist (they are optional).
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true

echo "Trimodal-Bind is installed: find it in the applications menu, or run $bin/trimodal-bind"
echo "To remove it: $app/uninstall.sh"
