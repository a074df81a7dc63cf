# shellcheck shell=bash
# scripts/lib/runtime.sh — what scripts/runtime-up.sh, smalldisk-up.sh, runtime-down.sh and
# smalldisk-down.sh share: logging, daemons by saved PID, the config file templates, registry and
# containerd start-up, image checks, teardown steps. Bash; sourced, never run: it only defines
# functions. They work under `set -u` with or without `set -e` and read these globals of the script:
#   SELF (script name without .sh: log prefix, die prefix), T0 (start, ${EPOCHREALTIME/./})
#   RUN (pid files), LOGS (daemon logs), SOCK (containerd socket)                  up scripts
#   REG (registry host:port), REG_PORT, REG_AUTH ("user:password", empty: none)    up scripts
#   SCRIPTS (the scripts dir), IMGLIST (the "<ref> <digest>" list of built images)  build

# ---------------------------------------------------------------- logging, locking, packages
# ms: milliseconds since T0
ms() { echo $(( (${EPOCHREALTIME/./} - T0) / 1000 )); }
# log MSG...: "[SELF N ms] MSG" on stdout
log() { echo "[$SELF $(ms) ms] $*"; }
# die MSG...: "SELF.sh: MSG" on stderr, exit 1
die() { echo "$SELF.sh: $*" >&2; exit 1; }
# lock DIR: hold DIR/.lock (fd 9: daemons must not inherit it, start them with 9>&-) for one up/down at a time
lock() { exec 9>"$1/.lock"; flock -w 600 9 || die "another ${SELF%-*}-up/down holds $1/.lock"; }
# apt_install PKG...: install Debian packages, quietly and without recommends
apt_install() {
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
}
# put FILE (content on stdin): rewrite only when it differs; status 0 = changed
put() {
  local tmp="$1.tmp.$$"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv "$tmp" "$1"
}

# ---------------------------------------------------------------- processes
# running PID: exists and is not a zombie (PID 1 here may reap orphans late)
running() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# comm PID: the process's command name
comm() { cat "/proc/$1/comm" 2>/dev/null; }
# alive PIDFILE COMM: the pid saved in PIDFILE runs a process named COMM
alive() { local p; p=$(cat "$1" 2>/dev/null) || return 1; running "$p" && [ "$(comm "$p")" = "$2" ]; }
# stop PIDFILE COMM SECS [verbose]: SIGTERM the saved pid when it runs COMM, SIGKILL after SECS; removes PIDFILE; verbose logs what it did
stop() {
  local f=$1 name=$2 secs=$3 verbose=${4:-} p i
  if alive "$f" "$name"; then
    p=$(cat "$f"); kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < secs * 20; i++)); do running "$p" || break; sleep 0.05; done
    if running "$p"; then
      [ -z "$verbose" ] || log "$name ($p) ignored SIGTERM: SIGKILL"
      kill -KILL "$p" 2>/dev/null || true
    fi
    [ -z "$verbose" ] || log "stopped $name (pid $p)"
  elif [ -n "$verbose" ] && [ -f "$f" ]; then
    log "$name not running (stale $(basename "$f"))"
  fi
  rm -f "$f"
}
# port_open PORT: something accepts connections on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- config templates (stdout)
# containerd_config DIR ROOT [CRI_LINE...]: config.toml of a containerd living in DIR (socket, state, CNI, certs.d), its root (content store, snapshots, metadata) at ROOT, CRI_LINEs added to the CRI settings
containerd_config() {
  local dir=$1 root=$2 socket=$1/containerd.sock extra=''
  [ $# -le 2 ] || extra=$(printf '    %s\n' "${@:3}")$'\n'
  cat <<EOF
version = 2
root = "$root"
state = "$dir/ctrd/state"
oom_score = 0

[grpc]
  address = "$socket"

[ttrpc]
  address = "$socket.ttrpc"

[debug]
  level = "info"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$dir/ctrd/opt"

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
${extra}
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          # cgroupfs driver: an empty cgroup_parent puts a pod under /k8s.io/<sandbox id>
          SystemdCgroup = false
          Root = "$dir/ctrd/runc"

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$dir/cni/net.d"
      max_conf_num = 1

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$dir/certs.d"
EOF
}
# cni_conflist NAME BRIDGE SUBNET DIR: CNI network NAME, a bridge with host-local IPAM on SUBNET, IPAM state in DIR/cni/ipam
cni_conflist() {
  cat <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$1",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$2",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$3" }]],
        "dataDir": "$4/cni/ipam"
      }
    }
  ]
}
EOF
}
# conflist_bridge FILE...: the bridge named in CNI config files (nothing when there are none)
conflist_bridge() { sed -n 's/.*"bridge": *"\([^"]*\)".*/\1/p' "$@" 2>/dev/null | head -1; }
# hosts_toml HOST:PORT: containerd's certs.d/HOST:PORT/hosts.toml for a plain-HTTP registry
hosts_toml() {
  cat <<EOF
server = "http://$1"

[host."http://$1"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
EOF
}
# registry_config DIR ADDR [REALM]: docker-registry config serving DIR/registry-data on ADDR; with REALM, basic auth from DIR/htpasswd
registry_config() {
  local auth=''
  [ -z "${3:-}" ] || auth="auth:
  htpasswd:
    realm: $3
    path: $1/htpasswd
"
  cat <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $1/registry-data
  delete:
    enabled: true
http:
  addr: $2
${auth}health:
  storagedriver:
    enabled: false
EOF
}

# ---------------------------------------------------------------- registry
# reg_curl CURL_ARG...: curl with REG_AUTH's credentials when set (read from stdin: not in ps)
reg_curl() {
  if [ -n "$REG_AUTH" ]; then printf 'user = "%s"\n' "$REG_AUTH" | curl -K - "$@"; else curl "$@"; fi
}
# reg_ok: the registry on REG answers 200 (with the credentials)
reg_ok() { reg_curl -fsS -o /dev/null -m 2 "http://$REG/v2/" 2>/dev/null; }
# registry_digest REF: manifest digest of REF (REG/repo:tag) in the registry ("" when missing)
registry_digest() {
  local r=${1#"$REG"/}
  reg_curl -fsS -m 5 -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REG/v2/${r%:*}/manifests/${r##*:}" 2>/dev/null \
    | awk 'tolower($1) == "docker-content-digest:" {print $2}' | tr -d '\r' || true
}
# check_registry_port VAR: die unless REG_PORT is free or held by our registry (VAR: the setting that moves it)
check_registry_port() {
  local listener
  listener=$(ss -Hltnp "sport = :$REG_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
  if [ -n "$listener" ] && [ "$listener" != "$(cat "$RUN/registry.pid" 2>/dev/null)" ]; then
    die "port $REG_PORT is taken by $(comm "$listener") (pid $listener); set $1"
  fi
}
# ensure_registry CONFIG CHANGED VAR: restart the registry when CHANGED=1, start it unless it runs and answers (VAR: the setting that moves REG_PORT)
ensure_registry() {
  local i
  if [ "$2" = 1 ] && alive "$RUN/registry.pid" docker-registry; then
    log "registry config changed: restarting the registry"
    stop "$RUN/registry.pid" docker-registry 10
  fi
  if alive "$RUN/registry.pid" docker-registry && reg_ok; then
    log "registry already running on $REG (pid $(cat "$RUN/registry.pid"))"
    return 0
  fi
  stop "$RUN/registry.pid" docker-registry 10   # a hung one of ours
  ! port_open "$REG_PORT" || die "port $REG_PORT is taken by another process; set $3"
  setsid docker-registry serve "$1" >>"$LOGS/registry.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/registry.pid"
  for ((i = 0; i < 200; i++)); do reg_ok && break; alive "$RUN/registry.pid" docker-registry || break; sleep 0.05; done
  reg_ok || { tail -5 "$LOGS/registry.log" >&2; die "registry did not come up, see $LOGS/registry.log"; }
  log "registry up on $REG${REG_AUTH:+ with basic auth} (pid $(cat "$RUN/registry.pid"))"
}

# ---------------------------------------------------------------- containerd
# cri_ok: containerd on SOCK has the CRI plugin loaded and ok (ctr waits ~10 s on a missing socket, hence -S and timeout)
cri_ok() {
  local out
  [ -S "$SOCK" ] || return 1
  out=$(timeout 5 ctr -a "$SOCK" plugins ls 2>/dev/null) || return 1
  grep -qE '^io\.containerd\.grpc\.v1 +cri +[^ ]+ +ok' <<<"$out"
}
# start_containerd CONFIG: start containerd on SOCK, wait for CRI (30 s) or die
start_containerd() {
  local t=${EPOCHREALTIME/./} i
  rm -f "$SOCK" "$SOCK.ttrpc"
  setsid containerd --config "$1" >>"$LOGS/containerd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/containerd.pid"
  for ((i = 0; i < 600; i++)); do cri_ok && break; alive "$RUN/containerd.pid" containerd || break; sleep 0.05; done
  cri_ok || { tail -20 "$LOGS/containerd.log" >&2; die "containerd/CRI did not come up, see $LOGS/containerd.log"; }
  log "containerd up (pid $(cat "$RUN/containerd.pid")), CRI ready after $(( (${EPOCHREALTIME/./} - t) / 1000 )) ms"
}
# ensure_containerd CONFIG: keep our containerd when CRI answers, else replace or start it; CTRD_STARTED=1 when it started one
ensure_containerd() {
  local i
  CTRD_STARTED=0
  if alive "$RUN/containerd.pid" containerd && cri_ok; then
    log "containerd already running (pid $(cat "$RUN/containerd.pid"))"
    return 0
  fi
  if alive "$RUN/containerd.pid" containerd; then
    # ours, but not answering: give it a moment (it may be starting), then replace it
    for ((i = 0; i < 100; i++)); do cri_ok && break; sleep 0.1; done
    cri_ok || { log "containerd (pid $(cat "$RUN/containerd.pid")) does not answer: restarting it"; stop "$RUN/containerd.pid" containerd 15; }
  fi
  cri_ok && return 0
  if [ -S "$SOCK" ] && timeout 3 ctr -a "$SOCK" version >/dev/null 2>&1; then
    die "a containerd not started by this script answers on $SOCK; stop it first"
  fi
  start_containerd "$1"
  # shellcheck disable=SC2034  # read by the scripts
  CTRD_STARTED=1
}

# ---------------------------------------------------------------- images
# images_ok LISTING: containerd (LISTING: `ctr images ls` of it) and the registry hold the images of IMGLIST with those digests
images_ok() {
  local ref dig have
  [ -s "$IMGLIST" ] || return 1
  while read -r ref dig; do
    case $ref in
      "$REG"/*) have=$(registry_digest "$ref") ;;
      *) have=$(awk -v r="$ref" '$1 == r {print $3}' <<<"$1") ;;
    esac
    [ "$have" = "$dig" ] || return 1
  done <"$IMGLIST"
}
# build [ENV...] -- ARGS...: run build-image.sh ARGS with ENV, indent its progress, collect its "<ref> <digest>" lines in IMGLIST.new
build() {
  local envs=() err
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  err=$(env "${envs[@]}" bash "$SCRIPTS/build-image.sh" "$@" 2>&1 >>"$IMGLIST.new") || { echo "$err" >&2; die "build-image.sh $* failed"; }
  [ -z "$err" ] || printf '    %s\n' "${err//$'\n'/$'\n'    }"
}

# ---------------------------------------------------------------- teardown (down scripts)
# ctr_remove_all SOCK: force-remove every task and container of namespace k8s.io; prints "TASKS CONTAINERS" (counts)
ctr_remove_all() {
  local ctr=(ctr -a "$1" -n k8s.io) tasks ctrs id
  tasks=$(timeout 10 "${ctr[@]}" tasks ls -q 2>/dev/null) || true
  for id in $tasks; do timeout 20 "${ctr[@]}" tasks rm -f "$id" >/dev/null 2>&1; done
  ctrs=$(timeout 10 "${ctr[@]}" containers ls -q 2>/dev/null) || true
  for id in $ctrs; do timeout 20 "${ctr[@]}" containers rm "$id" >/dev/null 2>&1; done
  echo "$(wc -w <<<"$tasks") $(wc -w <<<"$ctrs")"
}
# kill_leftovers DIR: after a containerd crash, SIGKILL the container inits of DIR/ctrd/state and stop their shims
# (shim = listener of the socket in a task's `address` file, or the parent of its init.pid)
kill_leftovers() {
  local shims=() d a sp p pp i
  for d in "$1"/ctrd/state/io.containerd.runtime.v2.task/*/*/; do
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
}
# down_args [ARG]: PURGE=1 for --purge, 0 for none; anything else: usage, exit 2
down_args() {
  # shellcheck disable=SC2034  # read by the scripts
  case ${1:-} in
    --purge) PURGE=1 ;;
    "") PURGE=0 ;;
    *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
  esac
}
# mounts_under DIR: the mount points below DIR
mounts_under() { findmnt -rn -o TARGET | awk -v b="$1/" 'index($0, b) == 1'; }
# delete_bridge BRIDGE: delete the network link BRIDGE when there is one
delete_bridge() { if [ -n "$1" ] && ip link show "$1" >/dev/null 2>&1; then ip link del "$1" && log "deleted bridge $1"; fi; }
# drop_runtime_state DIR: remove containerd's runtime state, the CNI IPAM state and the socket under DIR, and
# libcni's cached ADD results of its sandboxes (CRI drops one on StopPodSandbox, not for killed sandboxes)
drop_runtime_state() {
  local d
  for d in "$1"/ctrd/state/io.containerd.grpc.v1.cri/sandboxes/*/; do
    [ -d "$d" ] && rm -f /var/lib/cni/results/*-"$(basename "$d")"-*
  done
  rm -rf "$1/ctrd/state" "$1/ctrd/runc" "$1/cni/ipam" "$1/containerd.sock" "$1/containerd.sock.ttrpc"
}
