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

if [ "$(id -u)" != 0 ]; then
  echo "runtime-up.sh: must run as root: it installs packages with apt-get, mounts overlay" \
       "filesystems and network namespaces, and creates cgroups. Run: sudo $0" >&2
  exit 1
fi

STATE=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
REG_PORT=${NODELET_REGISTRY_PORT:-5000}
POD_SUBNET=${NODELET_POD_SUBNET:-10.88.0.0/16}
BRIDGE=nodelet0
REG=127.0.0.1:$REG_PORT
SOCK=$STATE/containerd.sock
RUN=$STATE/run
LOGS=$STATE/logs
PODLOGS=$STATE/pod-logs
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTR=(ctr -a "$SOCK" -n k8s.io)

T0=${EPOCHREALTIME/./}
ms() { echo $(( (${EPOCHREALTIME/./} - T0) / 1000 )); }
log() { echo "[runtime-up $(ms) ms] $*"; }
die() { echo "runtime-up.sh: $*" >&2; exit 1; }

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
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed: containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}')"
fi

mkdir -p "$RUN" "$LOGS" "$PODLOGS" "$STATE/images" "$STATE/cni/net.d" "$STATE/cni/ipam" \
         "$STATE/certs.d/$REG" "$STATE/registry-data" "$STATE/ctrd"
# one up/down at a time; the daemons must not inherit the lock (9>&- below)
exec 9>"$STATE/.lock"
flock -w 600 9 || die "another runtime-up/down holds $STATE/.lock"

# the registry port must be free or held by our own registry (checked before touching anything)
listener=$(ss -Hltnp "sport = :$REG_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
if [ -n "$listener" ] && [ "$listener" != "$(cat "$RUN/registry.pid" 2>/dev/null)" ]; then
  die "port $REG_PORT is taken by $(cat "/proc/$listener/comm" 2>/dev/null) (pid $listener); set NODELET_REGISTRY_PORT"
fi

# ---------------------------------------------------------------- configs
# put FILE (content on stdin): rewrite only when it differs; status 0 = changed
put() {
  local tmp="$1.tmp.$$"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv "$tmp" "$1"
}

ctrd_changed=0 reg_changed=0
put "$STATE/containerd-config.toml" <<EOF && ctrd_changed=1
version = 2
root = "$STATE/ctrd/root"
state = "$STATE/ctrd/state"
oom_score = 0

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  level = "info"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$STATE/ctrd/opt"

  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "localhost/pause:3.9"
    # network namespaces are bind-mounted under the state dir, not /var/run/netns
    netns_mounts_under_state_dir = true
    # Required on this machine: root lacks CAP_SYS_RESOURCE, so runc cannot set the sandbox's
    # oom_score_adj -998 (or a Guaranteed pod's -997) and fails with "can't get final child's
    # PID from pipe: EOF". This clamps them to containerd's own score (0).
    restrict_oom_score_adj = true
    stats_collect_period = 10
    max_container_log_line_size = 16384

    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          # cgroupfs driver: an empty cgroup_parent puts a pod under /k8s.io/<sandbox id>
          SystemdCgroup = false
          Root = "$STATE/ctrd/runc"

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$STATE/cni/net.d"
      max_conf_num = 1

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$STATE/certs.d"
EOF

put "$STATE/cni/net.d/10-nodelet.conflist" <<EOF || true
{
  "cniVersion": "1.0.0",
  "name": "nodelet",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_SUBNET" }]],
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
EOF

# containerd 1.6 already talks plain HTTP to loopback registries; this only makes it explicit.
for d in "$STATE/certs.d"/*; do [ "$d" = "$STATE/certs.d/$REG" ] || rm -rf "$d"; done
put "$STATE/certs.d/$REG/hosts.toml" <<EOF || true
server = "http://$REG"

[host."http://$REG"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
EOF

put "$STATE/registry-config.yml" <<EOF && reg_changed=1
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry-data
  delete:
    enabled: true
http:
  addr: $REG
health:
  storagedriver:
    enabled: false
EOF

# ---------------------------------------------------------------- daemons
# running PID: exists and is not a zombie
running() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# alive PIDFILE COMM: the pid saved in PIDFILE runs a process named COMM
alive() { local p; p=$(cat "$1" 2>/dev/null) || return 1; running "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]; }
# stop PIDFILE COMM SECS: SIGTERM, SIGKILL after SECS
stop() {
  local p i
  alive "$1" "$2" || return 0
  p=$(cat "$1"); kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < $3 * 20; i++)); do running "$p" || break; sleep 0.05; done
  if running "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
  rm -f "$1"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
reg_ok() { curl -fsS -o /dev/null -m 2 "http://$REG/v2/" 2>/dev/null; }
# the CRI plugin is loaded and ok (ctr waits ~10 s on a missing socket, hence -S and timeout)
cri_ok() {
  local out
  [ -S "$SOCK" ] || return 1
  out=$(timeout 5 ctr -a "$SOCK" plugins ls 2>/dev/null) || return 1
  grep -qE '^io\.containerd\.grpc\.v1 +cri +[^ ]+ +ok' <<<"$out"
}

if [ $reg_changed = 1 ] && alive "$RUN/registry.pid" docker-registry; then
  log "registry config changed: restarting the registry"
  stop "$RUN/registry.pid" docker-registry 10
fi
if alive "$RUN/registry.pid" docker-registry && reg_ok; then
  log "registry already running on $REG (pid $(cat "$RUN/registry.pid"))"
else
  stop "$RUN/registry.pid" docker-registry 10   # a hung one of ours
  port_open "$REG_PORT" && die "port $REG_PORT is taken by another process; set NODELET_REGISTRY_PORT"
  setsid docker-registry serve "$STATE/registry-config.yml" >>"$LOGS/registry.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/registry.pid"
  for ((i = 0; i < 200; i++)); do reg_ok && break; alive "$RUN/registry.pid" docker-registry || break; sleep 0.05; done
  reg_ok || { tail -5 "$LOGS/registry.log" >&2; die "registry did not come up, see $LOGS/registry.log"; }
  log "registry up on $REG (pid $(cat "$RUN/registry.pid"))"
fi

start_containerd() {
  local t=${EPOCHREALTIME/./}
  rm -f "$SOCK" "$SOCK.ttrpc"
  setsid containerd --config "$STATE/containerd-config.toml" >>"$LOGS/containerd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/containerd.pid"
  for ((i = 0; i < 600; i++)); do cri_ok && break; alive "$RUN/containerd.pid" containerd || break; sleep 0.05; done
  cri_ok || { tail -20 "$LOGS/containerd.log" >&2; die "containerd/CRI did not come up, see $LOGS/containerd.log"; }
  log "containerd up (pid $(cat "$RUN/containerd.pid")), CRI ready after $(( (${EPOCHREALTIME/./} - t) / 1000 )) ms"
}
if [ $ctrd_changed = 1 ] && alive "$RUN/containerd.pid" containerd; then
  log "containerd config changed: restarting containerd (running pods survive in their shims)"
  stop "$RUN/containerd.pid" containerd 15
fi
if alive "$RUN/containerd.pid" containerd && cri_ok; then
  log "containerd already running (pid $(cat "$RUN/containerd.pid"))"
else
  if alive "$RUN/containerd.pid" containerd; then
    # ours, but not answering: give it a moment (it may be starting), then replace it
    for ((i = 0; i < 100; i++)); do cri_ok && break; sleep 0.1; done
    cri_ok || { log "containerd (pid $(cat "$RUN/containerd.pid")) does not answer: restarting it"; stop "$RUN/containerd.pid" containerd 15; }
  fi
  if ! cri_ok; then
    if [ -S "$SOCK" ] && timeout 3 ctr -a "$SOCK" version >/dev/null 2>&1; then
      die "a containerd not started by this script answers on $SOCK; stop it first"
    fi
    start_containerd
    # runtime-down.sh could not remove the workloads through containerd (it had died): the
    # containers are still in its metadata and CRI would show them as NotReady/Exited. Remove
    # them, then restart containerd so that CRI forgets them too (it only learns them at start).
    if [ -f "$RUN/stale-workloads" ]; then
      ids=$(timeout 10 "${CTR[@]}" containers ls -q) || die "ctr containers ls failed"
      for id in $ids; do
        timeout 20 "${CTR[@]}" tasks rm -f "$id" >/dev/null 2>&1 || true
        timeout 20 "${CTR[@]}" containers rm "$id" >/dev/null 2>&1 || log "warning: could not remove container $id"
      done
      rm -f "$RUN/stale-workloads"
      if [ -n "$ids" ]; then
        log "removed $(wc -w <<<"$ids") containers left by a crashed containerd; restarting it"
        stop "$RUN/containerd.pid" containerd 15
        start_containerd
      fi
    fi
  fi
fi

# ---------------------------------------------------------------- images
# $IMGLIST records "<ref> <digest>" of the images built by the first run; when containerd and the
# registry still hold exactly those, nothing is built, imported or pushed.
IMGLIST=$STATE/images/up-images
export NODELET_RUNTIME_DIR=$STATE NODELET_REGISTRY=$REG CONTAINER_RUNTIME_ENDPOINT=unix://$SOCK
listing=$(timeout 10 "${CTR[@]}" images ls 2>/dev/null) || die "ctr images ls failed"
registry_digest() { # REF -> manifest digest in the registry ("" when missing)
  local r=${1#"$REG"/}
  curl -fsS -m 5 -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REG/v2/${r%:*}/manifests/${r##*:}" 2>/dev/null \
    | awk 'tolower($1) == "docker-content-digest:" {print $2}' | tr -d '\r' || true
}
images_ok() {
  local ref dig have
  [ -s "$IMGLIST" ] || return 1
  while read -r ref dig; do
    case $ref in
      "$REG"/*) have=$(registry_digest "$ref") ;;
      *) have=$(awk -v r="$ref" '$1 == r {print $3}' <<<"$listing") ;;
    esac
    [ "$have" = "$dig" ] || return 1
  done <"$IMGLIST"
}
# build ARGS...: run build-image.sh, indent its progress, collect its "<ref> <digest>" lines
build() {
  local err
  err=$("$SCRIPTS/build-image.sh" "$@" 2>&1 >>"$IMGLIST.new") || { echo "$err" >&2; die "build-image.sh $* failed"; }
  [ -z "$err" ] || printf '    %s\n' "${err//$'\n'/$'\n'    }"
}
if images_ok; then
  log "images already in containerd and the registry: $(cut -d' ' -f1 "$IMGLIST" | tr '\n' ' ')"
else
  : >"$IMGLIST.new"
  build --import --pause pause 3.9
  build --import --push --base busybox latest
  build --push --base busybox 1.0
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
