#!/usr/bin/env bash
# runtime-up.sh — start the CRI runtime nodelet's tests use: containerd (own socket) + a local
# registry, fully offline (Debian packages only). Idempotent: when everything is up already it
# only checks it (well under a second), it never rebuilds images.
#
#  * installs containerd runc busybox-static docker-registry containernetworking-plugins curl
#    iproute2 apache2-utils (htpasswd, for scripts/smalldisk-up.sh) (apt-get update only when
#    something is missing)
#  * everything lives under ONE state dir, $NODELET_RUNTIME_DIR (default /var/lib/nodelet-runtime):
#      containerd.sock        CRI endpoint          ctrd/{root,state,runc,opt}  containerd data
#      cni/{net.d,ipam}       bridge nodelet0       registry-data/              registry storage
#      pod-logs/              pod log directory     images/                     image build cache
#      run/*.pid, logs/*.log  daemons                env                         settings, see below
#  * docker-registry on 127.0.0.1:$NODELET_REGISTRY_PORT (default 5000)
#  * images built from busybox-static (scripts/build-image.sh): localhost/busybox:latest and
#    localhost/pause:3.9 in namespace k8s.io; 127.0.0.1:5000/busybox:latest and :1.0 in the
#    registry only (not in containerd, so a CRI PullImage really goes to the registry)
#  * writes $NODELET_RUNTIME_DIR/env (KEY=VALUE lines, sourceable)
# Stop it with scripts/runtime-down.sh [--purge].
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/runtime.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/runtime.sh"
SELF=runtime-up T0=${EPOCHREALTIME/./}

[ "$(id -u)" = 0 ] || die "must run as root: it installs packages with apt-get, mounts overlay" \
  "filesystems and network namespaces, and creates cgroups. Run: sudo $0"

STATE=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
REG_PORT=${NODELET_REGISTRY_PORT:-5000}
POD_SUBNET=${NODELET_POD_SUBNET:-10.88.0.0/16}
BRIDGE=nodelet0
REG=127.0.0.1:$REG_PORT REG_AUTH=
SOCK=$STATE/containerd.sock
RUN=$STATE/run
LOGS=$STATE/logs
PODLOGS=$STATE/pod-logs
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTR=(ctr -a "$SOCK" -n k8s.io)

[[ $STATE == /* && $STATE =~ ^[A-Za-z0-9/._-]+$ ]] || die "NODELET_RUNTIME_DIR must be an absolute path of [A-Za-z0-9/._-] (got '$STATE')"
[ ${#SOCK} -lt 100 ] || die "socket path $SOCK is too long for a unix socket"
[[ $REG_PORT =~ ^[0-9]+$ ]] || die "NODELET_REGISTRY_PORT must be a port number"

# ---------------------------------------------------------------- packages
PKGS=(containerd runc busybox-static docker-registry containernetworking-plugins curl iproute2 apache2-utils)
missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null || true)
for p in "${PKGS[@]}"; do
  grep -qxF "$p install ok installed" <<<"$installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
  log "installed: containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}')"
fi

mkdir -p "$RUN" "$LOGS" "$PODLOGS" "$STATE/images" "$STATE/cni/net.d" "$STATE/cni/ipam" \
         "$STATE/certs.d/$REG" "$STATE/registry-data" "$STATE/ctrd"
# one up/down at a time (the daemons do not inherit the lock)
lock "$STATE"
# the registry port must be free or held by our own registry (checked before touching anything)
check_registry_port NODELET_REGISTRY_PORT

# ---------------------------------------------------------------- configs
ctrd_changed=0 reg_changed=0
containerd_config "$STATE" "$STATE/ctrd/root" | put "$STATE/containerd-config.toml" && ctrd_changed=1
cni_conflist nodelet "$BRIDGE" "$POD_SUBNET" "$STATE" | put "$STATE/cni/net.d/10-nodelet.conflist" || true

# containerd 1.6 already talks plain HTTP to loopback registries; this only makes it explicit.
for d in "$STATE/certs.d"/*; do [ "$d" = "$STATE/certs.d/$REG" ] || rm -rf "$d"; done
hosts_toml "$REG" | put "$STATE/certs.d/$REG/hosts.toml" || true
registry_config "$STATE" "$REG" | put "$STATE/registry-config.yml" && reg_changed=1

# ---------------------------------------------------------------- daemons
ensure_registry "$STATE/registry-config.yml" $reg_changed NODELET_REGISTRY_PORT

if [ $ctrd_changed = 1 ] && alive "$RUN/containerd.pid" containerd; then
  log "containerd config changed: restarting containerd (running pods survive in their shims)"
  stop "$RUN/containerd.pid" containerd 15
fi
ensure_containerd "$STATE/containerd-config.toml"
# runtime-down.sh could not remove the workloads through containerd (it had died): the containers
# are still in its metadata and CRI would show them as NotReady/Exited. Remove them, then restart
# containerd so that CRI forgets them too (it only learns them at start).
if [ "$CTRD_STARTED" = 1 ] && [ -f "$RUN/stale-workloads" ]; then
  ids=$(timeout 10 "${CTR[@]}" containers ls -q) || die "ctr containers ls failed"
  for id in $ids; do
    timeout 20 "${CTR[@]}" tasks rm -f "$id" >/dev/null 2>&1 || true
    timeout 20 "${CTR[@]}" containers rm "$id" >/dev/null 2>&1 || log "warning: could not remove container $id"
  done
  rm -f "$RUN/stale-workloads"
  if [ -n "$ids" ]; then
    log "removed $(wc -w <<<"$ids") containers left by a crashed containerd; restarting it"
    stop "$RUN/containerd.pid" containerd 15
    start_containerd "$STATE/containerd-config.toml"
  fi
fi

# ---------------------------------------------------------------- images
# $IMGLIST records "<ref> <digest>" of the images built by the first run; when containerd and the
# registry still hold exactly those, nothing is built, imported or pushed.
IMGLIST=$STATE/images/up-images
export NODELET_RUNTIME_DIR=$STATE NODELET_REGISTRY=$REG CONTAINER_RUNTIME_ENDPOINT=unix://$SOCK
listing=$(timeout 10 "${CTR[@]}" images ls 2>/dev/null) || die "ctr images ls failed"
if images_ok "$listing"; then
  log "images already in containerd and the registry: $(cut -d' ' -f1 "$IMGLIST" | tr '\n' ' ')"
else
  : >"$IMGLIST.new"
  build -- --import --pause pause 3.9
  build -- --import --push --base busybox latest
  build -- --push --base busybox 1.0
  mv "$IMGLIST.new" "$IMGLIST"
  listing=$(timeout 10 "${CTR[@]}" images ls 2>/dev/null) || die "ctr images ls failed"
fi
# the registry's busybox names (tags, and the repo digest a CRI pull records) must not be in
# containerd, so that ImageStatus does not find them and a CRI pull really asks the registry
reg_busybox() { awk -v a="$REG/busybox:" -v b="$REG/busybox@" 'NR > 1 && (index($1, a) == 1 || index($1, b) == 1) {print $1}' <<<"$listing"; }
for r in $(reg_busybox); do
  timeout 10 "${CTR[@]}" images rm "$r" >/dev/null
  log "removed $r from containerd (it must be pulled from the registry)"
done
log "images in k8s.io: $(awk -v a="$REG/busybox:" -v b="$REG/busybox@" 'NR > 1 && $1 !~ /^sha256:/ && index($1, a) != 1 && index($1, b) != 1 {printf "%s ", $1}' <<<"$listing")"
log "registry catalog: $(curl -fsS -m 5 "http://$REG/v2/_catalog" 2>/dev/null | tr -d '\n' || echo '?')"

# ---------------------------------------------------------------- env
put "$STATE/env" <<EOF || true
CONTAINER_RUNTIME_ENDPOINT=unix://$SOCK
IMAGE_SERVICE_ENDPOINT=unix://$SOCK
NODELET_RUNTIME_DIR=$STATE
NODELET_REGISTRY=$REG
NODELET_POD_LOG_DIR=$PODLOGS
NODELET_TEST_IMAGE=localhost/busybox:latest
NODELET_PAUSE_IMAGE=localhost/pause:3.9
NODELET_REGISTRY_IMAGE=$REG/busybox:latest
NODELET_REGISTRY_IMAGE_ALT=$REG/busybox:1.0
NODELET_POD_SUBNET=$POD_SUBNET
NODELET_CNI_BRIDGE=$BRIDGE
EOF
log "ready (containerd pid $(cat "$RUN/containerd.pid"), registry pid $(cat "$RUN/registry.pid")); settings in $STATE/env"
echo "CONTAINER_RUNTIME_ENDPOINT=unix://$SOCK"
