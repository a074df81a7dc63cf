#!/usr/bin/env bash
# test.sh — the project's test command (README, CI): everything a fresh Debian machine needs.
#  1. npm packages (npm ci) when node_modules is missing or older than the lock file
#  2. the real runtime (scripts/runtime-up.sh: containerd, runc, CNI, registry, images)
#  3. lint, type check
#  4. every test: unit tests on the fake clock + simulated runtime, and the tests against
#     containerd (NODELET_REQUIRE_RUNTIME=1: a missing runtime fails instead of skipping)
#  5. tears down the runtime if this run started it
# Extra arguments are passed to node's test runner, e.g. scripts/test.sh --test-name-pattern=sim
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
say() { echo "[test $(( $(date +%s) - T0 )) s] $*"; }

if [ "$(id -u)" != 0 ]; then
  echo "scripts/test.sh needs root: it installs and runs containerd (apt-get, mounts, cgroups). Run: sudo scripts/test.sh" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

STATE=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
started=0
pid=$(cat "$STATE/run/containerd.pid" 2>/dev/null || true)
if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != containerd ]; then started=1; fi
if [ "$started" = 1 ] && [ "${NODELET_KEEP_RUNTIME:-}" != 1 ]; then
  trap 'say "tearing down the runtime this run started"; bash scripts/runtime-down.sh >/dev/null || true' EXIT
fi
say "bringing up the runtime"
bash scripts/runtime-up.sh | tail -n 1

say "lint"
npx eslint .
say "type check"
npx tsc -p tsconfig.json
say "build (dist/, what bin/nodelet.js runs)"
npm run -s build

mapfile -t files < <(find src test -name '*.test.ts' | sort)
say "running ${#files[@]} test files"
NODELET_REQUIRE_RUNTIME=1 node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
