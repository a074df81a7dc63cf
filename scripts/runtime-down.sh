#!/usr/bin/env bash
# runtime-down.sh [--purge] — stop what scripts/runtime-up.sh started, by its saved PIDs only
# (each checked against the expected process name). Idempotent: exit 0 when nothing runs.
#  1. while containerd is up: force-remove every task and container of namespace k8s.io
#     (pods' sandboxes included)
#  2. SIGTERM containerd, SIGKILL after 15 s
#  3. after a containerd crash: SIGKILL leftover container inits (init.pid of each task),
#     stop their shims, SIGKILL whatever still runs in the pod cgroups ($NODELET_CGROUP_ROOTS)
#  4. SIGTERM the registry, SIGKILL after 10 s
#  5. unmount everything under the state dir, delete the CNI bridge, remove the empty pod cgroups,
#     drop containerd's runtime state, the CNI IPAM state and the env file (like /run after a reboot)
#  --purge also removes the image store, registry data, pod logs and the image build cache,
#          then the whole state dir.
set -uo pipefail
export LC_ALL=C

if [ "$(id -u)" != 0 ]; then
  echo "runtime-down.sh: must run as root: it stops root daemons, unmounts filesystems and" \
       "removes cgroups and network links. Run: sudo $0 $*" >&2
  exit 1
fi

STATE=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
SOCK=$STATE/containerd.sock
RUN=$STATE/run
# the bridge named in this state dir's CNI config (none when up never wrote one)
BRIDGE=$(sed -n 's/.*"bridge": *"\([^"]*\)".*/\1/p' "$STATE/cni/net.d/10-nodelet.conflist" 2>/dev/null | head -1)
CGROUP_ROOTS=${NODELET_CGROUP_ROOTS:-"nodelet k8s.io kubepods"}
PURGE=0
case ${1:-} in
  --purge) PURGE=1 ;;
  "") ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac
[[ $STATE == /?* && $STATE =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "runtime-down.sh: bad NODELET_RUNTIME_DIR '$STATE'" >&2; exit 1; }

T0=${EPOCHREALTIME/./}
log() { echo "[runtime-down $(( (${EPOCHREALTIME/./} - T0) / 1000 )) ms] $*"; }

if [ ! -d "$STATE" ]; then log "nothing to do: no $STATE"; exit 0; fi
exec 9>"$STATE/.lock"
flock -w 600 9 || { echo "runtime-down.sh: another runtime-up/down holds $STATE/.lock" >&2; exit 1; }
# the small-disk runtime (scripts/smalldisk-up.sh) lives under $STATE: it goes first, by its own script
[ -d "$STATE/smalldisk" ] && NODELET_RUNTIME_DIR=$STATE bash "$(dirname "${BASH_SOURCE[0]}")/smalldisk-down.sh" $([ $PURGE = 1 ] && echo --purge)
rm -f "$STATE/env"

# running PID: exists and is not a zombie (PID 1 here may reap orphans late)
running() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
comm() { cat "/proc/$1/comm" 2>/dev/null; }
alive() { local p; p=$(cat "$1" 2>/dev/null) || return 1; running "$p" && [ "$(comm "$p")" = "$2" ]; }
# stop_pidfile FILE COMM SECS: SIGTERM, wait up to SECS, then SIGKILL
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

# 1. remove all CRI workloads through containerd while it is still up
if alive "$RUN/containerd.pid" containerd && [ -S "$SOCK" ]; then
  CTR=(ctr -a "$SOCK" -n k8s.io)
  tasks=$(timeout 10 "${CTR[@]}" tasks ls -q 2>/dev/null)
  for id in $tasks; do timeout 20 "${CTR[@]}" tasks rm -f "$id" >/dev/null 2>&1; done
  ctrs=$(timeout 10 "${CTR[@]}" containers ls -q 2>/dev/null)
  for id in $ctrs; do timeout 20 "${CTR[@]}" containers rm "$id" >/dev/null 2>&1; done
  log "removed $(wc -w <<<"$tasks") tasks, $(wc -w <<<"$ctrs") containers"
elif [ -f "$RUN/containerd.pid" ] && [ -e "$STATE/ctrd/root/io.containerd.metadata.v1.bolt/meta.db" ]; then
  # containerd died (stale pid file): its metadata may still list containers; the next runtime-up removes them
  mkdir -p "$RUN" && touch "$RUN/stale-workloads"
fi

# 2. containerd
stop_pidfile "$RUN/containerd.pid" containerd 15

# 3. leftovers after a containerd crash: the shims keep running (with their containers). Shim pid
#    = listener of the socket named in each task's `address` file, or the parent of its init.pid.
shims=()
for d in "$STATE"/ctrd/state/io.containerd.runtime.v2.task/*/*/; do
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
for r in $CGROUP_ROOTS; do
  [ -d "/sys/fs/cgroup/pids/$r" ] || continue
  while read -r p; do
    [ -n "$p" ] || continue
    log "SIGKILL pid $p left in cgroup $r ($(comm "$p"))"; kill -KILL "$p" 2>/dev/null
  done < <(find "/sys/fs/cgroup/pids/$r" -name cgroup.procs -exec cat {} + 2>/dev/null)
done

# 4. registry
stop_pidfile "$RUN/registry.pid" docker-registry 10

# 5. mounts, network, cgroups, runtime state
sleep 0.2
mounts_under "$STATE" | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; log "unmounted $m"
done
if [ -n "$BRIDGE" ] && ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE" && log "deleted bridge $BRIDGE"; fi
for r in $CGROUP_ROOTS; do
  for c in /sys/fs/cgroup/*/"$r"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
  done
done
left=$(for r in $CGROUP_ROOTS; do ls -d /sys/fs/cgroup/*/"$r" 2>/dev/null; done | wc -l)
[ "$left" -gt 0 ] && log "warning: $left cgroup dirs could not be removed"
# libcni caches each ADD result in /var/lib/cni/results/<net>-<sandbox id>-<ifname>; CRI removes
# it on StopPodSandbox, not for sandboxes killed above: drop those of our sandboxes.
for d in "$STATE"/ctrd/state/io.containerd.grpc.v1.cri/sandboxes/*/; do
  [ -d "$d" ] && rm -f /var/lib/cni/results/*-"$(basename "$d")"-*
done
rm -rf "$STATE/ctrd/state" "$STATE/ctrd/runc" "$STATE/cni/ipam" "$SOCK" "$SOCK.ttrpc"
# containerd 1.6 always puts shim sockets in /run/containerd/s; drop the dirs when empty
rmdir /run/containerd/s /run/containerd /var/lib/cni/results /var/lib/cni 2>/dev/null

left=$(mounts_under "$STATE" | wc -l)
if [ $PURGE = 1 ]; then
  if [ "$left" -gt 0 ]; then
    log "NOT purging: $left mounts are still under $STATE"; exit 1
  fi
  rm -rf "${STATE:?}"
  log "purged $STATE (image store, registry data, pod logs, build cache, configs)"
fi
log "done (mounts left under $STATE: $left)"
exit 0
