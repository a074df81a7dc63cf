#!/usr/bin/env bash
# smalldisk-down.sh [--purge] — stop what scripts/smalldisk-up.sh started, by its saved PIDs only
# (each checked against the expected process name); the main runtime (scripts/runtime-up.sh) is
# left alone. Idempotent: exit 0 when nothing runs.
#  1. while its containerd is up: stop and remove every pod sandbox through CRI (`nodelet cri
#     rmp -f`: the CNI teardown runs), then force-remove any task and container left (ctr)
#  2. SIGTERM containerd, SIGKILL after 15 s; after a crash: SIGKILL the leftover container inits
#     and their shims (found from its own state dir, never by name or cgroup)
#  3. SIGTERM the registry, SIGKILL after 10 s
#  4. unmount everything under the smalldisk dir (pods' rootfs and netns, then the small
#     filesystem; the loop device goes with it), delete bridge nodelet1, drop containerd's runtime
#     state, the CNI IPAM state and the env file
#  --purge also deletes the filesystem image, the registry data and the pod logs: the whole dir.
set -uo pipefail
export LC_ALL=C

if [ "$(id -u)" != 0 ]; then
  echo "smalldisk-down.sh: must run as root. Run: sudo $0 $*" >&2
  exit 1
fi

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAIN=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
SD=${NODELET_SMALLDISK_DIR:-$MAIN/smalldisk}
SOCK=$SD/containerd.sock
RUN=$SD/run
MNT=$SD/mnt
BRIDGE=$(sed -n 's/.*"bridge": *"\([^"]*\)".*/\1/p' "$SD"/cni/net.d/*.conflist 2>/dev/null | head -1)
PURGE=0
case ${1:-} in
  --purge) PURGE=1 ;;
  "") ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac
[[ $SD == /?* && $SD =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "smalldisk-down.sh: bad NODELET_SMALLDISK_DIR '$SD'" >&2; exit 1; }

T0=${EPOCHREALTIME/./}
log() { echo "[smalldisk-down $(( (${EPOCHREALTIME/./} - T0) / 1000 )) ms] $*"; }

if [ ! -d "$SD" ]; then log "nothing to do: no $SD"; exit 0; fi
# smalldisk-up.sh calls this script holding the lock already (NODELET_SMALLDISK_LOCKED=1)
if [ "${NODELET_SMALLDISK_LOCKED:-}" != 1 ]; then
  exec 9>"$SD/.lock"
  flock -w 600 9 || { echo "smalldisk-down.sh: another smalldisk-up/down holds $SD/.lock" >&2; exit 1; }
fi
rm -f "$SD/env"

running() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
comm() { cat "/proc/$1/comm" 2>/dev/null; }
alive() { local p; p=$(cat "$1" 2>/dev/null) || return 1; running "$p" && [ "$(comm "$p")" = "$2" ]; }
stop_pidfile() {
  local f=$1 name=$2 secs=$3 p i
  if alive "$f" "$name"; then
    p=$(cat "$f"); kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < secs * 20; i++)); do running "$p" || break; sleep 0.05; done
    if running "$p"; then log "$name ($p) ignored SIGTERM: SIGKILL"; kill -KILL "$p" 2>/dev/null; fi
    log "stopped $name (pid $p)"
  elif [ -f "$f" ]; then
    log "$name not running (stale $(basename "$f"))"
  fi
  rm -f "$f"
}
mounts_under() { findmnt -rn -o TARGET | awk -v b="$1/" 'index($0, b) == 1'; }

# 1. workloads, through CRI while containerd is up
if alive "$RUN/containerd.pid" containerd && [ -S "$SOCK" ]; then
  CTR=(ctr -a "$SOCK" -n k8s.io)
  if [ -n "$(timeout 10 "${CTR[@]}" containers ls -q 2>/dev/null)" ]; then
    # CRI's sandbox ids are those of containerd's containers labelled as sandboxes
    mapfile -t ids < <(timeout 10 "${CTR[@]}" containers ls -q 'labels."io.cri-containerd.kind"==sandbox' 2>/dev/null || true)
    if [ ${#ids[@]} -gt 0 ]; then
      mkdir -p "$SD/logs"
      if timeout 120 node "$SCRIPTS/../bin/nodelet.js" cri -r "unix://$SOCK" rmp -f "${ids[@]}" >/dev/null 2>"$SD/logs/down-rmp.err"; then
        log "stopped and removed ${#ids[@]} pod sandboxes through CRI"
      else
        log "warning: CRI removal failed ($(tail -1 "$SD/logs/down-rmp.err")); removing with ctr"
      fi
    fi
    tasks=$(timeout 10 "${CTR[@]}" tasks ls -q 2>/dev/null)
    for id in $tasks; do timeout 20 "${CTR[@]}" tasks rm -f "$id" >/dev/null 2>&1; done
    ctrs=$(timeout 10 "${CTR[@]}" containers ls -q 2>/dev/null)
    for id in $ctrs; do timeout 20 "${CTR[@]}" containers rm "$id" >/dev/null 2>&1; done
    [ -z "$ctrs" ] || log "removed $(wc -w <<<"$tasks") tasks, $(wc -w <<<"$ctrs") containers with ctr"
  fi
elif [ -f "$RUN/containerd.pid" ] && [ -e "$MNT/containerd/io.containerd.metadata.v1.bolt/meta.db" ]; then
  # containerd died: its metadata may still list pods; the next smalldisk-up removes them
  touch "$RUN/stale-workloads"
fi

# 2. containerd, then what a crashed one left running (from its own state dir only)
stop_pidfile "$RUN/containerd.pid" containerd 15
shims=()
for d in "$SD"/ctrd/state/io.containerd.runtime.v2.task/*/*/; do
  [ -d "$d" ] || continue
  if [ -f "$d/address" ]; then
    a=$(cat "$d/address"); a=${a#unix://}
    sp=$(ss -xlpn 2>/dev/null | awk -v a="$a" '$5 == a' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
    [ -n "$sp" ] && shims+=("$sp")
  fi
  p=$(cat "$d/init.pid" 2>/dev/null)
  if running "$p"; then
    pp=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
    [[ "$(comm "$pp")" == containerd-shim* ]] && shims+=("$pp")
    log "SIGKILL leftover container init $(comm "$p") pid $p"
    kill -KILL "$p" 2>/dev/null
  fi
done
for sp in $(printf '%s\n' "${shims[@]}" | sort -u); do
  [[ "$(comm "$sp")" == containerd-shim* ]] || continue
  log "stopping leftover shim pid $sp"; kill -TERM "$sp" 2>/dev/null
  for ((i = 0; i < 100; i++)); do running "$sp" || break; sleep 0.05; done
  running "$sp" && kill -KILL "$sp" 2>/dev/null
done

# 3. registry
stop_pidfile "$RUN/registry.pid" docker-registry 10

# 4. mounts (deepest first: pods' rootfs and netns, then the small filesystem), network, state
sleep 0.1
# (the small filesystem last: the pods' overlay mounts use it)
{ mounts_under "$SD" | awk -v m="$MNT" '$0 != m && index($0, m "/") != 1' | sort -r
  mounts_under "$SD" | awk -v m="$MNT" '$0 == m || index($0, m "/") == 1' | sort -r; } | while read -r m; do
  if umount "$m" 2>/dev/null; then log "unmounted $m"
  elif umount -l "$m" 2>/dev/null; then log "unmounted $m (lazily: it was busy)"
  else log "warning: could not unmount $m"
  fi
done
for d in $(losetup -nO NAME -j "$SD/disk.img" 2>/dev/null); do losetup -d "$d" 2>/dev/null && log "detached $d"; done
if [ -n "$BRIDGE" ] && ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE" && log "deleted bridge $BRIDGE"; fi
for d in "$SD"/ctrd/state/io.containerd.grpc.v1.cri/sandboxes/*/; do
  [ -d "$d" ] && rm -f /var/lib/cni/results/*-"$(basename "$d")"-*
done
rm -rf "$SD/ctrd/state" "$SD/ctrd/runc" "$SD/cni/ipam" "$SOCK" "$SOCK.ttrpc"

left=$(mounts_under "$SD" | wc -l)
if [ $PURGE = 1 ]; then
  if [ "$left" -gt 0 ]; then
    log "NOT purging: $left mounts are still under $SD"; exit 1
  fi
  if [ "${NODELET_SMALLDISK_LOCKED:-}" = 1 ]; then
    find "$SD" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +   # the caller holds .lock
  else
    rm -rf "${SD:?}"
  fi
  log "purged $SD (filesystem image, registry data, pod logs, configs)"
fi
log "done (mounts left under $SD: $left)"
exit 0
