#!/usr/bin/env bash
# smalldisk-up.sh [--size-mib N] — a SECOND containerd whose image filesystem is a small ext4
# filesystem (a loop-mounted file), and a SECOND registry that wants basic auth: the environment
# for tests of image garbage collection, disk-pressure eviction and pulls with credentials.
# Runs beside the main runtime of scripts/runtime-up.sh and never touches it. Idempotent: when
# everything is up already it only checks it (about a second).
#
#  * needs the main runtime's packages and image cache: runs scripts/runtime-up.sh when its env
#    file ($NODELET_RUNTIME_DIR/env) is missing; installs apache2-utils (htpasswd) when missing
#  * everything lives under $NODELET_SMALLDISK_DIR (default $NODELET_RUNTIME_DIR/smalldisk):
#      disk.img             the filesystem image (sparse file of N MiB: --size-mib, else
#                           $NODELET_SMALLDISK_SIZE_MIB, else the size it has, else 400; a
#                           new size recreates it empty: images, containers and pods are lost)
#      mnt/                 its mountpoint (ext4, 4 KiB blocks, no reserved blocks)
#      mnt/containerd/      containerd's `root` (content store, snapshots, metadata): the ONLY
#                           thing on the small filesystem; ImageFsInfo reports
#                           mnt/containerd/io.containerd.snapshotter.v1.overlayfs
#      containerd.sock      CRI endpoint          ctrd/{state,runc,opt}  containerd runtime state
#      cni/{net.d,ipam}     bridge nodelet1       pod-logs/              pod log directory
#      registry-data/       registry storage      htpasswd               bcrypt credentials
#      run/*.pid, logs/     daemons               env                    settings, see below
#  * containerd: same settings as the main one (restrict_oom_score_adj, cgroupfs, overlayfs),
#    its own socket, CRI streaming server on a port of its own (random, 127.0.0.1), pods on
#    bridge nodelet1 / $NODELET_SMALLDISK_POD_SUBNET (default 10.89.0.0/16); localhost/pause:3.9
#    and localhost/busybox:latest imported
#  * docker-registry on 127.0.0.1:$NODELET_SMALLDISK_REGISTRY_PORT (default 5001), plain HTTP,
#    htpasswd basic auth (user nodelet, password s3cret), holding private/busybox:1.0
#  * writes $NODELET_SMALLDISK_DIR/env (KEY=VALUE lines, sourceable)
# A pull of an image of N MiB of incompressible data takes about 2N MiB of the filesystem: the
# compressed blobs in the content store plus the unpacked snapshot (containerd's default,
# discard_unpacked_layers = false). Stop it with scripts/smalldisk-down.sh [--purge].
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/runtime.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/runtime.sh"
SELF=smalldisk-up T0=${EPOCHREALTIME/./}

[ "$(id -u)" = 0 ] || die "must run as root: it makes and mounts a filesystem and runs containerd." \
  "Run: sudo $0 $*"

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAIN=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
SD=${NODELET_SMALLDISK_DIR:-$MAIN/smalldisk}
SIZE=${NODELET_SMALLDISK_SIZE_MIB:-}
REG_PORT=${NODELET_SMALLDISK_REGISTRY_PORT:-5001}
POD_SUBNET=${NODELET_SMALLDISK_POD_SUBNET:-10.89.0.0/16}
BRIDGE=nodelet1
REG_USER=nodelet REG_PASS=s3cret
REG_AUTH=$REG_USER:$REG_PASS
PRIVATE_REPO=private/busybox PRIVATE_TAG=1.0
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --size-mib) [ $# -ge 2 ] || usage; SIZE=$2; shift ;;
    --size-mib=*) SIZE=${1#--size-mib=} ;;
    -h|--help) usage ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[[ $SD == /?* && $SD =~ ^[A-Za-z0-9/._-]+$ ]] || die "NODELET_SMALLDISK_DIR must be an absolute path of [A-Za-z0-9/._-] (got '$SD')"
# no size asked for: keep the filesystem there is, else 400 MiB
if [ -z "$SIZE" ]; then
  if [ -f "$SD/disk.img" ]; then SIZE=$(( $(stat -c %s "$SD/disk.img") / 1048576 )); else SIZE=400; fi
fi
if ! [[ $SIZE =~ ^[0-9]+$ ]] || [ "$SIZE" -lt 64 ] || [ "$SIZE" -gt 65536 ]; then die "--size-mib takes 64..65536 (got '$SIZE')"; fi
[[ $REG_PORT =~ ^[0-9]+$ ]] || die "NODELET_SMALLDISK_REGISTRY_PORT must be a port number"
REG=127.0.0.1:$REG_PORT
SOCK=$SD/containerd.sock
MNT=$SD/mnt
IMG=$SD/disk.img
ROOT=$MNT/containerd
RUN=$SD/run
LOGS=$SD/logs
[ ${#SOCK} -lt 100 ] || die "socket path $SOCK is too long for a unix socket"

# ---------------------------------------------------------------- main runtime, packages
if [ ! -f "$MAIN/env" ]; then
  log "no $MAIN/env: starting the main runtime (scripts/runtime-up.sh)"
  bash "$SCRIPTS/runtime-up.sh" | sed 's/^/    /'
fi
need=()
for c in containerd runc docker-registry curl htpasswd mkfs.ext4 losetup findmnt flock; do
  command -v "$c" >/dev/null || need+=("$c")
done
if [ ${#need[@]} -gt 0 ]; then
  pkgs=()
  for c in "${need[@]}"; do
    case $c in
      htpasswd) pkgs+=(apache2-utils) ;; mkfs.ext4) pkgs+=(e2fsprogs) ;;
      losetup|findmnt) pkgs+=(mount) ;; flock) pkgs+=(util-linux) ;; *) pkgs+=("$c") ;;
    esac
  done
  apt_install "${pkgs[@]}"
fi

mkdir -p "$SD" "$RUN" "$LOGS" "$MNT" "$SD/pod-logs" "$SD/cni/net.d" "$SD/cni/ipam" "$SD/registry-data" \
         "$SD/ctrd" "$SD/certs.d"
lock "$SD"
check_registry_port NODELET_SMALLDISK_REGISTRY_PORT

# ---------------------------------------------------------------- the small filesystem
want=$((SIZE * 1048576))
if [ -f "$IMG" ] && [ "$(stat -c %s "$IMG")" != "$want" ]; then
  log "$IMG is $(( $(stat -c %s "$IMG") / 1048576 )) MiB, $SIZE MiB wanted: recreating it (scripts/smalldisk-down.sh --purge)"
  NODELET_SMALLDISK_LOCKED=1 NODELET_SMALLDISK_DIR=$SD bash "$SCRIPTS/smalldisk-down.sh" --purge | sed 's/^/    /'
  mkdir -p "$SD" "$RUN" "$LOGS" "$MNT" "$SD/pod-logs" "$SD/cni/net.d" "$SD/cni/ipam" "$SD/registry-data" "$SD/ctrd" "$SD/certs.d"
fi
if [ ! -f "$IMG" ]; then
  findmnt -rn --mountpoint "$MNT" >/dev/null && die "$MNT is mounted but $IMG is missing: run scripts/smalldisk-down.sh"
  truncate -s "$want" "$IMG.new"
  # -T default: 4 KiB blocks (mke2fs would pick 1 KiB ones under 512 MiB); -m 0: no blocks
  # reserved for root, so statfs "available" is what containerd (root) can really use
  mkfs.ext4 -q -F -T default -m 0 -L nodelet-small -E lazy_itable_init=0,lazy_journal_init=0 "$IMG.new"
  mv "$IMG.new" "$IMG"
  log "made a $SIZE MiB ext4 filesystem in $IMG"
fi
if ! findmnt -rn --mountpoint "$MNT" >/dev/null; then
  # a loop device left attached to the file (a lazy unmount) would be a second writer: drop it
  for d in $(losetup -nO NAME -j "$IMG" 2>/dev/null); do losetup -d "$d" 2>/dev/null || true; done
  mount -t ext4 -o loop,noatime "$IMG" "$MNT"
  log "mounted $IMG on $MNT ($(findmnt -rn -o SOURCE --mountpoint "$MNT"))"
fi
src=$(findmnt -rn -o SOURCE --mountpoint "$MNT")
if [[ $src != /dev/loop* ]] || [ "$(losetup -nO BACK-FILE "$src" 2>/dev/null | sed 's/ *(deleted)$//')" != "$IMG" ]; then
  die "$MNT is mounted from $src, not from a loop device on $IMG"
fi
mkdir -p "$ROOT"

# ---------------------------------------------------------------- configs
ctrd_changed=0 reg_changed=0
containerd_config "$SD" "$ROOT" \
  '# a streaming server of its own (port 0: any free port on 127.0.0.1)' \
  'stream_server_address = "127.0.0.1"' 'stream_server_port = "0"' \
  | put "$SD/containerd-config.toml" && ctrd_changed=1

# its own bridge and subnet: host-local IPAM with another dataDir on the main runtime's bridge
# would hand out the same addresses twice
cni_conflist nodelet-small "$BRIDGE" "$POD_SUBNET" "$SD" | put "$SD/cni/net.d/10-nodelet-small.conflist" || true

# plain HTTP to both loopback registries (containerd 1.6 does it anyway; explicit here)
for r in "$REG" "127.0.0.1:$(sed -n 's/^NODELET_REGISTRY=127\.0\.0\.1:\([0-9]*\)$/\1/p' "$MAIN/env" 2>/dev/null || true)"; do
  [[ $r == *:?* ]] || continue
  mkdir -p "$SD/certs.d/$r"
  hosts_toml "$r" | put "$SD/certs.d/$r/hosts.toml" || true
done

# bcrypt (the only hash docker-registry's htpasswd accepts); salted, so only rewritten when the
# file does not verify
if ! htpasswd -vb "$SD/htpasswd" "$REG_USER" "$REG_PASS" >/dev/null 2>&1; then
  htpasswd -Bbn "$REG_USER" "$REG_PASS" | sed '/^$/d' >"$SD/htpasswd.new"
  mv "$SD/htpasswd.new" "$SD/htpasswd"
  reg_changed=1
fi
registry_config "$SD" "$REG" nodelet-smalldisk | put "$SD/registry-config.yml" && reg_changed=1

# ---------------------------------------------------------------- daemons
ensure_registry "$SD/registry-config.yml" $reg_changed NODELET_SMALLDISK_REGISTRY_PORT
code=$(curl -sS -o /dev/null -w '%{http_code}' -m 2 "http://$REG/v2/" || true)
[ "$code" = 401 ] || die "registry on $REG answers $code without credentials, 401 expected"

if [ $ctrd_changed = 1 ] && alive "$RUN/containerd.pid" containerd; then
  log "containerd config changed: restarting it (running pods survive in their shims)"
  stop "$RUN/containerd.pid" containerd 15
fi
ensure_containerd "$SD/containerd-config.toml"
# smalldisk-down.sh found containerd dead: CRI still lists the old pods (NotReady), remove them
if [ "$CTRD_STARTED" = 1 ] && [ -f "$RUN/stale-workloads" ]; then
  mapfile -t ids < <(node "$SCRIPTS/../bin/nodelet.js" cri -r "unix://$SOCK" pods -q 2>/dev/null || true)
  if [ ${#ids[@]} -gt 0 ]; then
    if node "$SCRIPTS/../bin/nodelet.js" cri -r "unix://$SOCK" rmp -f "${ids[@]}" >/dev/null 2>&1; then
      log "removed ${#ids[@]} pods left by a crashed containerd"
    else
      log "warning: could not remove the pods left by a crashed containerd"
    fi
  fi
  rm -f "$RUN/stale-workloads"
fi

# ---------------------------------------------------------------- images
export NODELET_RUNTIME_DIR=$MAIN
# $IMGLIST records "<ref> <digest>" of the images of the last build; when containerd and the
# registry still hold exactly those, build-image.sh (about a second a call) is not run at all
IMGLIST=$SD/up-images
if listing=$(timeout 10 ctr -a "$SOCK" -n k8s.io images ls 2>/dev/null) && images_ok "$listing"; then
  log "images already in containerd and the registry: $(cut -d' ' -f1 "$IMGLIST" | tr '\n' ' ')"
else
  : >"$IMGLIST.new"
  ctrd_env=(CONTAINER_RUNTIME_ENDPOINT="unix://$SOCK")
  build "${ctrd_env[@]}" -- --import --pause pause 3.9
  build "${ctrd_env[@]}" -- --import --base busybox latest
  build NODELET_REGISTRY="$REG" NODELET_REGISTRY_AUTH="$REG_AUTH" -- --push "$PRIVATE_REPO" "$PRIVATE_TAG"
  mv "$IMGLIST.new" "$IMGLIST"
fi
# the private image must be pulled from the registry: drop it from containerd when a test left it
for r in $(timeout 10 ctr -a "$SOCK" -n k8s.io images ls -q 2>/dev/null | grep -F "$REG/$PRIVATE_REPO" || true); do
  timeout 10 ctr -a "$SOCK" -n k8s.io images rm "$r" >/dev/null && log "removed $r from containerd (it must be pulled)"
done

# ---------------------------------------------------------------- env
put "$SD/env" <<EOF || true
NODELET_SMALLDISK_ENDPOINT=unix://$SOCK
NODELET_SMALLDISK_DIR=$SD
NODELET_SMALLDISK_IMAGE_FILE=$IMG
NODELET_SMALLDISK_SIZE_MIB=$SIZE
NODELET_SMALLDISK_MOUNTPOINT=$MNT
NODELET_SMALLDISK_CONTAINERD_ROOT=$ROOT
NODELET_SMALLDISK_IMAGEFS=$ROOT/io.containerd.snapshotter.v1.overlayfs
NODELET_SMALLDISK_POD_LOG_DIR=$SD/pod-logs
NODELET_SMALLDISK_POD_SUBNET=$POD_SUBNET
NODELET_SMALLDISK_CNI_BRIDGE=$BRIDGE
NODELET_SMALLDISK_TEST_IMAGE=localhost/busybox:latest
NODELET_SMALLDISK_PAUSE_IMAGE=localhost/pause:3.9
NODELET_SMALLDISK_REGISTRY=$REG
NODELET_SMALLDISK_REGISTRY_USER=$REG_USER
NODELET_SMALLDISK_REGISTRY_PASSWORD=$REG_PASS
NODELET_SMALLDISK_PRIVATE_IMAGE=$REG/$PRIVATE_REPO:$PRIVATE_TAG
EOF
read -r _ size used pct _ < <(df -B1 --output=source,size,used,pcent "$MNT" | tail -1)
log "ready: $MNT $((used / 1048576))/$((size / 1048576)) MiB used ($pct), containerd pid $(cat "$RUN/containerd.pid"), registry pid $(cat "$RUN/registry.pid"); settings in $SD/env"
echo "NODELET_SMALLDISK_ENDPOINT=unix://$SOCK"
