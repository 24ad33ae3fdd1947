#!/usr/bin/env bash
# Installs tk100b-gateway on Raspberry Pi OS / Debian as a systemd service. Idempotent: running it
# again upgrades the code and keeps the config and the data.
#
#   sudo scripts/install.sh [--dry-run] [--prefix DIR] [--no-start]
#
# --dry-run   print every step, change nothing
# --prefix    install under DIR instead of / (tests; packaging)
# SYSTEMCTL   environment variable naming the systemctl to call (tests use a fake)
set -euo pipefail

DRY_RUN=0
PREFIX=""
START=1
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
    --no-start) START=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 1 ;;
  esac
  shift
done

SRC="$(cd "$(dirname "$0")/.." && pwd)"
APP_DIR="$PREFIX/opt/tk100b-gateway"
CONF_DIR="$PREFIX/etc/tk100b-gateway"
DATA_DIR="$PREFIX/var/lib/tk100b-gateway"
UNIT_DIR="$PREFIX/etc/systemd/system"
SYSTEMCTL="${SYSTEMCTL:-systemctl}"
SERVICE_USER=tkgw

step() { echo "==> $*"; }
run() {
  echo "    $*"
  if ((DRY_RUN == 0)); then "$@"; fi
}

step "checking Node.js (>= 20 required)"
if ! command -v node >/dev/null 2>&1; then
  echo "install.sh: node not found; install Node.js 20 or newer first (e.g. apt-get install nodejs)" >&2
  exit 1
fi
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
if ((NODE_MAJOR < 20)); then
  echo "install.sh: Node.js $(node -v) is too old; 20 or newer is required" >&2
  exit 1
fi
echo "    node $(node -v)"

step "service user $SERVICE_USER"
if [[ -z "$PREFIX" ]] && ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
  run useradd --system --home-dir /var/lib/tk100b-gateway --shell /usr/sbin/nologin "$SERVICE_USER"
else
  echo "    exists (or --prefix install: skipped)"
fi

step "directories"
run mkdir -p "$APP_DIR" "$CONF_DIR" "$DATA_DIR" "$UNIT_DIR"
if [[ -z "$PREFIX" ]]; then
  run chown "$SERVICE_USER:$SERVICE_USER" "$DATA_DIR"
  run chmod 0750 "$DATA_DIR"
fi

step "application files -> $APP_DIR"
for item in package.json package-lock.json src tsconfig.json tsconfig.build.json README.md systemd ecosystem.config.cjs config; do
  run cp -a "$SRC/$item" "$APP_DIR/"
done
step "dependencies and build (better-sqlite3 compiles here; takes a few minutes on a Pi)"
if [[ -n "${TKGW_INSTALL_SKIP_BUILD:-}" ]]; then
  echo "    skipped (TKGW_INSTALL_SKIP_BUILD)"
else
  run sh -c "cd '$APP_DIR' && npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev"
fi

step "configuration (kept if present)"
if [[ -f "$CONF_DIR/config.yaml" ]]; then
  echo "    $CONF_DIR/config.yaml exists: not touched"
else
  run cp "$SRC/config/example.yaml" "$CONF_DIR/config.yaml"
  run chmod 0640 "$CONF_DIR/config.yaml"
fi

step "systemd unit"
run cp "$SRC/systemd/tk100b-gateway.service" "$UNIT_DIR/tk100b-gateway.service"
run "$SYSTEMCTL" daemon-reload
run "$SYSTEMCTL" enable tk100b-gateway.service
if ((START)); then
  run "$SYSTEMCTL" restart tk100b-gateway.service
fi

step "done"
echo "    config:  $CONF_DIR/config.yaml  (set uplink.url, then: systemctl restart tk100b-gateway)"
echo "    logs:    journalctl -u tk100b-gateway -f"
echo "    status:  node $APP_DIR/dist/cli.js status"
