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
# shellcheck source=lib/runtime.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/runtime.sh"
SELF=smalldisk-down T0=${EPOCHREALTIME/./}

[ "$(id -u)" = 0 ] || die "must run as root. Run: sudo $0 $*"

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAIN=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
SD=${NODELET_SMALLDISK_DIR:-$MAIN/smalldisk}
SOCK=$SD/containerd.sock
RUN=$SD/run
MNT=$SD/mnt
BRIDGE=$(conflist_bridge "$SD"/cni/net.d/*.conflist)
down_args "$@"
[[ $SD == /?* && $SD =~ ^[A-Za-z0-9/._-]+$ ]] || die "bad NODELET_SMALLDISK_DIR '$SD'"

if [ ! -d "$SD" ]; then log "nothing to do: no $SD"; exit 0; fi
# smalldisk-up.sh calls this script holding the lock already (NODELET_SMALLDISK_LOCKED=1)
[ "${NODELET_SMALLDISK_LOCKED:-}" = 1 ] || lock "$SD"
rm -f "$SD/env"

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
    read -r ntasks nctrs < <(ctr_remove_all "$SOCK")
    [ "$nctrs" = 0 ] || log "removed $ntasks tasks, $nctrs containers with ctr"
  fi
elif [ -f "$RUN/containerd.pid" ] && [ -e "$MNT/containerd/io.containerd.metadata.v1.bolt/meta.db" ]; then
  # containerd died: its metadata may still list pods; the next smalldisk-up removes them
  touch "$RUN/stale-workloads"
fi

# 2. containerd, then what a crashed one left running (from its own state dir only)
stop "$RUN/containerd.pid" containerd 15 verbose
kill_leftovers "$SD"

# 3. registry
stop "$RUN/registry.pid" docker-registry 10 verbose

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
delete_bridge "$BRIDGE"
drop_runtime_state "$SD"

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
