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
# shellcheck source=lib/runtime.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/runtime.sh"
SELF=runtime-down T0=${EPOCHREALTIME/./}

[ "$(id -u)" = 0 ] || die "must run as root: it stops root daemons, unmounts filesystems and" \
  "removes cgroups and network links. Run: sudo $0 $*"

STATE=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
SOCK=$STATE/containerd.sock
RUN=$STATE/run
# the bridge named in this state dir's CNI config (none when up never wrote one)
BRIDGE=$(conflist_bridge "$STATE/cni/net.d/10-nodelet.conflist")
CGROUP_ROOTS=${NODELET_CGROUP_ROOTS:-"nodelet k8s.io kubepods"}
down_args "$@"
[[ $STATE == /?* && $STATE =~ ^[A-Za-z0-9/._-]+$ ]] || die "bad NODELET_RUNTIME_DIR '$STATE'"

if [ ! -d "$STATE" ]; then log "nothing to do: no $STATE"; exit 0; fi
lock "$STATE"
# the small-disk runtime (scripts/smalldisk-up.sh) lives under $STATE: it goes first, by its own script
[ -d "$STATE/smalldisk" ] && NODELET_RUNTIME_DIR=$STATE bash "$(dirname "${BASH_SOURCE[0]}")/smalldisk-down.sh" $([ $PURGE = 1 ] && echo --purge)
rm -f "$STATE/env"

# 1. remove all CRI workloads through containerd while it is still up
if alive "$RUN/containerd.pid" containerd && [ -S "$SOCK" ]; then
  read -r ntasks nctrs < <(ctr_remove_all "$SOCK")
  log "removed $ntasks tasks, $nctrs containers"
elif [ -f "$RUN/containerd.pid" ] && [ -e "$STATE/ctrd/root/io.containerd.metadata.v1.bolt/meta.db" ]; then
  # containerd died (stale pid file): its metadata may still list containers; the next runtime-up removes them
  mkdir -p "$RUN" && touch "$RUN/stale-workloads"
fi

# 2. containerd
stop "$RUN/containerd.pid" containerd 15 verbose

# 3. leftovers after a containerd crash: the shims keep running (with their containers)
kill_leftovers "$STATE"
for r in $CGROUP_ROOTS; do
  [ -d "/sys/fs/cgroup/pids/$r" ] || continue
  while read -r p; do
    [ -n "$p" ] || continue
    log "SIGKILL pid $p left in cgroup $r ($(comm "$p"))"; kill -KILL "$p" 2>/dev/null
  done < <(find "/sys/fs/cgroup/pids/$r" -name cgroup.procs -exec cat {} + 2>/dev/null)
done

# 4. registry
stop "$RUN/registry.pid" docker-registry 10 verbose

# 5. mounts, network, cgroups, runtime state
sleep 0.2
mounts_under "$STATE" | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; log "unmounted $m"
done
delete_bridge "$BRIDGE"
for r in $CGROUP_ROOTS; do
  for c in /sys/fs/cgroup/*/"$r"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
  done
done
left=$(for r in $CGROUP_ROOTS; do ls -d /sys/fs/cgroup/*/"$r" 2>/dev/null; done | wc -l)
[ "$left" -gt 0 ] && log "warning: $left cgroup dirs could not be removed"
drop_runtime_state "$STATE"
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
