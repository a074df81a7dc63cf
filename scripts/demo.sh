#!/usr/bin/env bash
# demo.sh — nodelet's main job on this machine, from a fresh clone (as root).
# Until the pod engine lands: install what is needed, bring up containerd + a local registry,
# and show the runtime through `nodelet cri` (version, images, a pull with progress, pods,
# containers).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "scripts/demo.sh needs root (it installs and starts containerd)" >&2; exit 1; fi
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/runtime-up.sh | tail -n 1
set -a; . "${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}/env"; set +a
run() { echo; echo "\$ nodelet $*"; ./bin/nodelet.js "$@"; }
run cri version
run cri images
run cri pull "$NODELET_REGISTRY_IMAGE_ALT"
run cri images
run cri pods
run cri ps -a
