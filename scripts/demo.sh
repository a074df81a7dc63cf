#!/usr/bin/env bash
# demo.sh — nodelet's main job on this machine, from a fresh clone (as root).
#  1. installs what is needed and brings up containerd + a local registry (scripts/runtime-up.sh)
#  2. starts `nodelet run` in standalone mode with the pods of examples/ as static pods
#  3. shows them reaching their states (`nodelet get pods` every few seconds): a long-running
#     pod, a crash-looping one, a run-to-completion one, one with an init container
#  4. removes the manifests, shows nodelet stopping and removing the pods, and stops nodelet
# DEMO_SECONDS (default 45) sets how long step 3 watches.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "scripts/demo.sh needs root (it installs and starts containerd)" >&2; exit 1; fi
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run -s build
bash scripts/runtime-up.sh | tail -n 1
set -a; . "${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}/env"; set +a

WORK=${NODELET_DEMO_DIR:-$NODELET_RUNTIME_DIR/demo}
PORT=${NODELET_DEMO_PORT:-10248}
mkdir -p "$WORK/manifests" "$WORK/root" "$WORK/logs"
rm -f "$WORK/manifests"/*
cp examples/*.yaml "$WORK/manifests/"

./bin/nodelet.js run --container-runtime-endpoint "$CONTAINER_RUNTIME_ENDPOINT" --pod-manifest-path "$WORK/manifests" --root-dir "$WORK/root" --pod-logs-dir "$WORK/logs" \
  --healthz-port "$PORT" --hostname-override demo-node --file-check-frequency 5s >"$WORK/nodelet.log" 2>&1 &
NODELET=$!
trap 'kill $NODELET 2>/dev/null || true' EXIT
echo "nodelet running (pid $NODELET), log: $WORK/nodelet.log, local API: http://127.0.0.1:$PORT"

get() { ./bin/nodelet.js get pods --server "http://127.0.0.1:$PORT" "$@"; }
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

end=$(( $(date +%s) + ${DEMO_SECONDS:-45} ))
while [ "$(date +%s)" -lt "$end" ]; do
  echo; echo "\$ nodelet get pods    ($(date +%T))"; get || true
  sleep 5
done

echo; echo "\$ nodelet describe pod crashloop"; ./bin/nodelet.js describe pod crashloop --server "http://127.0.0.1:$PORT" | tail -n 12 || true
echo; echo "\$ nodelet cri ps -a   (the containers, as containerd has them)"; ./bin/nodelet.js cri ps -a

echo; echo "removing the manifests: nodelet stops and removes the pods"
rm -f "$WORK/manifests"/*.yaml
for _ in $(seq 1 40); do
  [ -z "$(./bin/nodelet.js cri pods -q --namespace default)" ] && break
  sleep 0.5
done
echo "\$ nodelet cri pods"; ./bin/nodelet.js cri pods
kill $NODELET; wait $NODELET 2>/dev/null || true
trap - EXIT
echo "done (nodelet log: $WORK/nodelet.log)"
