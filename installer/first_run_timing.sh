#!/usr/bin/env bash
# First run of the built app on a fresh user, under Xvfb: seconds from launch to the main window
# mapped on screen, then until the demo library is indexed; the user folders it made.
#   installer/first_run_timing.sh [APP_FOLDER]      (default dist/trimodal-bind; needs xvfb-run, xwininfo)
set -euo pipefail
app="$(cd "${1:-$(dirname "$0")/../dist/trimodal-bind}" && pwd)"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
export HOME="$home" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" XDG_CONFIG_HOME="$home/config"
unset TRIMODAL_BIND_HOME QT_QPA_PLATFORM

xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  app="$1"
  start=$(date +%s.%N)
  "$app/trimodal-bind" >"$HOME/app.log" 2>&1 & pid=$!
  shown() {  # a top-level window titled Trimodal-Bind that is mapped (viewable), not just created
    for id in $(xwininfo -root -tree 2>/dev/null | grep "\"Trimodal-Bind\": (" | awk "{print \$1}"); do
      xwininfo -id "$id" 2>/dev/null | grep -q "Map State: IsViewable" && return 0
    done
    return 1
  }
  until shown; do
    kill -0 $pid 2>/dev/null || { echo "the app exited before its window showed:"; cat "$HOME/app.log"; exit 1; }
    sleep 0.05
  done
  shown=$(date +%s.%N)
  echo "window shown after $(echo "$shown - $start" | bc) s"
  for _ in $(seq 1 180); do
    counts=$("$app/trimodal-bind" --demo status --json 2>/dev/null |
      python3 -c "import json,sys; s=json.load(sys.stdin); i=s.get(\"items\",{}); print(sum(c[\"done\"] for c in i.values()), sum(c[\"pending\"] for c in i.values()))" 2>/dev/null || echo "0 1")
    set -- "$app" $counts
    if [ "$2" -ge 35 ] && [ "$3" -eq 0 ]; then break; fi
    sleep 1
  done
  echo "demo indexed ($2 items done, $3 pending) after $(echo "$(date +%s.%N) - $start" | bc) s"
  kill $pid; wait $pid 2>/dev/null || true
' _ "$app"
echo "user folders made:"; (cd "$home" && find data cache config -maxdepth 2 2>/dev/null | sort)
