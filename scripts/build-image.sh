#!/usr/bin/env bash
# build-image.sh — small OCI images built offline from /bin/busybox (busybox-static).
#
# usage: scripts/build-image.sh [--push] [--import] [--out FILE] [--base|--pause|--filler-mib N]
#                               NAME TAG [EXTRA]
#
# Image kinds
#   (default)  the shared busybox layer + one tiny layer holding /etc/nodelet-image, whose
#              content is EXTRA (default "NAME:TAG"). Every NAME/TAG/EXTRA gives a distinct
#              image (distinct layer, config and manifest digests) while a push only uploads a
#              few hundred bytes: the busybox layer is mounted from the registry's busybox repo.
#   --base     the busybox layer alone (all applets), Cmd ["sh"]         e.g. busybox:latest
#   --pause    /bin/busybox + /bin/sleep only, Entrypoint sleep infinity  e.g. pause:3.9
#   --filler-mib N  the default kind plus a third layer holding /filler: N MiB of pseudo-random
#              (incompressible) bytes seeded by EXTRA, an uncompressed tar layer (gzip would only
#              cost time on such data), so the image really takes about N MiB in the
#              registry, in containerd's content store and again unpacked in its snapshotter.
#              Deterministic: the same NAME/TAG/EXTRA/N gives the same digests (layer cached).
# Actions (several may be given; --push is the default when none is)
#   --push     push to the test registry as $NODELET_REGISTRY/NAME:TAG (plain HTTP, curl)
#   --import   import into containerd (namespace k8s.io) as localhost/NAME:TAG
#              (NAME is used as is when its first component looks like a registry host)
#   --out FILE write an OCI image-layout tarball named localhost/NAME:TAG (ctr images import FILE)
# Output: one line per action on stdout, "<image ref> sha256:<manifest digest>"; progress on stderr.
# Idempotent and cheap: layers and blobs are cached in $NODELET_RUNTIME_DIR/images, and an image
# already in the registry / in containerd with the same digest is not pushed / imported again.
#
# Environment: NODELET_RUNTIME_DIR (default /var/lib/nodelet-runtime), NODELET_REGISTRY
# (default 127.0.0.1:${NODELET_REGISTRY_PORT:-5000}), CONTAINER_RUNTIME_ENDPOINT (default
# unix://$NODELET_RUNTIME_DIR/containerd.sock), NODELET_IMAGE_CACHE (default $NODELET_RUNTIME_DIR/images),
# NODELET_REGISTRY_AUTH (user:password for a registry with basic auth, e.g. the smalldisk one).
set -euo pipefail
export LC_ALL=C

STATE=${NODELET_RUNTIME_DIR:-/var/lib/nodelet-runtime}
REG=${NODELET_REGISTRY:-127.0.0.1:${NODELET_REGISTRY_PORT:-5000}}
ENDPOINT=${CONTAINER_RUNTIME_ENDPOINT:-unix://$STATE/containerd.sock}
SOCK=${ENDPOINT#unix://}
CACHE=${NODELET_IMAGE_CACHE:-$STATE/images}
BUSYBOX=/bin/busybox

T0=${EPOCHREALTIME/./}
log() { echo "[build-image $(( (${EPOCHREALTIME/./} - T0) / 1000 )) ms] $*" >&2; }
die() { echo "build-image.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }

kind=extra push=0 import=0 out="" filler=0
while [ $# -gt 0 ]; do
  case $1 in
    --push) push=1 ;;
    --import) import=1 ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --base) kind=base ;;
    --pause) kind=pause ;;
    --filler-mib) [ $# -ge 2 ] || usage; filler=$2; shift ;;
    --filler-mib=*) filler=${1#--filler-mib=} ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
  shift
done
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
NAME=$1 TAG=$2 EXTRA=${3-"$1:$2"}
[[ $NAME =~ ^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$ ]] || \
  [[ $NAME =~ ^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$ ]] || die "invalid image name '$NAME'"
[[ $TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid tag '$TAG'"
[ "$kind" = extra ] || [ $# -eq 2 ] || die "EXTRA only applies to the default (layered) kind"
if ! [[ $filler =~ ^[0-9]+$ ]] || [ "$filler" -gt 4096 ]; then die "--filler-mib takes a number of MiB (0..4096), got '$filler'"; fi
[ "$kind" = extra ] || [ "$filler" -eq 0 ] || die "--filler-mib only applies to the default (layered) kind"
[ $push = 1 ] || [ $import = 1 ] || [ -n "$out" ] || push=1
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing: apt-get install busybox-static (scripts/runtime-up.sh does)"

if ! mkdir -p "$CACHE/blobs/sha256" 2>/dev/null || [ ! -w "$CACHE" ]; then
  CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/nodelet-images
  mkdir -p "$CACHE/blobs/sha256"
fi
BLOBS=$CACHE/blobs/sha256
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nodelet-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

case $(dpkg --print-architecture 2>/dev/null || uname -m) in
  amd64|x86_64) ARCH=amd64 ;; arm64|aarch64) ARCH=arm64 ;; i386) ARCH=386 ;; armhf|armel) ARCH=arm ;;
  *) ARCH=$(dpkg --print-architecture) ;;
esac

# store_blob FILE : move FILE into the blob store (atomic rename), print its hex digest
store_blob() {
  local d; d=$(sha256sum "$1" | cut -d' ' -f1)
  if [ -s "$BLOBS/$d" ]; then rm -f "$1"; else mv "$1" "$BLOBS/$d"; fi
  echo "$d"
}

# tar_layer DIR OUTVAR [plain] : deterministic layer from DIR; sets OUTVAR to "diffid digest size"
# (gzip-compressed; "plain": an uncompressed tar layer, whose digest is its diffid)
tar_layer() {
  local dir=$1 diffid ldig
  (cd "$dir" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
     --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$WORK/layer.tar" -- *)
  diffid=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
  if [ "${3:-}" = plain ]; then
    ldig=$(store_blob "$WORK/layer.tar")
    printf -v "$2" '%s %s %s plain' "$diffid" "$ldig" "$(stat -c %s "$BLOBS/$ldig")"
    return
  fi
  gzip -n -6 -c "$WORK/layer.tar" >"$WORK/layer.tgz"; rm -f "$WORK/layer.tar"
  ldig=$(store_blob "$WORK/layer.tgz")
  printf -v "$2" '%s %s %s' "$diffid" "$ldig" "$(stat -c %s "$BLOBS/$ldig")"
}

# base_layer busybox|pause : the cached busybox/pause layer ("diffid digest size"), built once
# per busybox binary
base_layer() {
  local k=$1 bb key ld root a layer
  bb=$(sha256sum "$BUSYBOX" | cut -c1-16)
  key="$CACHE/layer-$k-$bb"
  if [ -s "$key" ] && read -r _ ld _ <"$key" && [ -s "$BLOBS/$ld" ]; then
    cat "$key"; return
  fi
  root=$WORK/rootfs-$k
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root}
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"; chmod 0755 "$root/bin/busybox"
  if [ "$k" = pause ]; then
    ln -s busybox "$root/bin/sleep"
  else
    for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
    mkdir -p "$root/var/www"
    echo '<h1>hello from busybox httpd</h1>' >"$root/var/www/index.html"
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  tar_layer "$root" layer
  echo "$layer" >"$key.tmp.$$"; mv "$key.tmp.$$" "$key"
  log "built $k layer sha256:$(echo "$layer" | cut -d' ' -f2)"
  echo "$layer"
}

# filler_layer MIB SEED : cached layer holding /filler, MIB MiB of bytes from AES-256-CTR keyed by
# SEED (pseudo-random, incompressible, reproducible); /dev/urandom when openssl is missing (then
# neither reproducible nor cached)
filler_layer() {
  local mib=$1 seed=$2 key="" ld layer
  if command -v openssl >/dev/null; then
    key="$CACHE/layer-filler-plain-$mib-$(printf '%s' "$seed" | sha256sum | cut -c1-16)"
    if [ -s "$key" ] && read -r _ ld _ <"$key" && [ -s "$BLOBS/$ld" ]; then cat "$key"; return; fi
  fi
  mkdir -p "$WORK/filler"
  if [ -n "$key" ]; then
    openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$seed" </dev/zero 2>/dev/null | head -c $((mib * 1048576)) >"$WORK/filler/filler" || true
  else
    head -c $((mib * 1048576)) /dev/urandom >"$WORK/filler/filler"
  fi
  [ "$(stat -c %s "$WORK/filler/filler")" = $((mib * 1048576)) ] || die "could not write $mib MiB of filler"
  tar_layer "$WORK/filler" layer plain   # gzip would only cost time on random bytes
  rm -rf "$WORK/filler"
  [ -z "$key" ] || { echo "$layer" >"$key.tmp.$$"; mv "$key.tmp.$$" "$key"; }
  log "built $mib MiB filler layer sha256:$(echo "$layer" | cut -d' ' -f2)"
  echo "$layer"
}

# ---------------------------------------------------------------- layers, config, manifest
diffids="" layers=""
add_layer() { # "diffid digest size [plain]"
  local diffid dig size plain mt=application/vnd.oci.image.layer.v1.tar+gzip
  read -r diffid dig size plain <<<"$1"
  [ "$plain" != plain ] || mt=application/vnd.oci.image.layer.v1.tar
  diffids="$diffids${diffids:+,}\"sha256:$diffid\""
  layers="$layers${layers:+,}{\"mediaType\":\"$mt\",\"digest\":\"sha256:$dig\",\"size\":$size}"
}
case $kind in
  pause) add_layer "$(base_layer pause)"; cmdjson='"Entrypoint":["/bin/sleep","infinity"]' ;;
  base)  add_layer "$(base_layer busybox)"; cmdjson='"Cmd":["sh"]' ;;
  extra)
    add_layer "$(base_layer busybox)"; cmdjson='"Cmd":["sh"]'
    mkdir -p "$WORK/extra/etc"
    printf '%s\n' "$EXTRA" >"$WORK/extra/etc/nodelet-image"
    xl=""; tar_layer "$WORK/extra" xl
    add_layer "$xl"
    [ "$filler" -eq 0 ] || add_layer "$(filler_layer "$filler" "$EXTRA")" ;;
esac
printf '%s' "{\"architecture\":\"$ARCH\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],$cmdjson,\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffids]},\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"nodelet build-image.sh $kind\"}]}" >"$WORK/config.json"
csz=$(stat -c %s "$WORK/config.json"); cdig=$(store_blob "$WORK/config.json")
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cdig\",\"size\":$csz},\"layers\":[$layers]}" >"$WORK/manifest.json"
msz=$(stat -c %s "$WORK/manifest.json"); mdig=$(store_blob "$WORK/manifest.json")
blob_list() { # every blob of the image: layers, config, manifest
  echo "$layers" | grep -o 'sha256:[0-9a-f]*' | cut -d: -f2
  echo "$cdig"; echo "$mdig"
}

# oci_tar REF FILE : OCI image-layout tarball of the image, named REF for ctr import
oci_tar() {
  local ref=$1 file=$2 d=$WORK/oci b
  mkdir -p "$d/blobs/sha256"
  for b in $(blob_list); do ln "$BLOBS/$b" "$d/blobs/sha256/$b" 2>/dev/null || cp "$BLOBS/$b" "$d/blobs/sha256/$b"; done
  printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$mdig\",\"size\":$msz,\"platform\":{\"architecture\":\"$ARCH\",\"os\":\"linux\"},\"annotations\":{\"io.containerd.image.name\":\"$ref\",\"org.opencontainers.image.ref.name\":\"${ref##*:}\"}}]}" >"$d/index.json"
  (cd "$d" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$file" oci-layout index.json blobs)
  rm -rf "$d"
}

# ---------------------------------------------------------------- --out
# the name used in containerd: localhost/NAME:TAG unless NAME starts with a registry host
case ${NAME%%/*} in
  *.*|*:*|localhost) [[ $NAME == */* ]] && local_ref=$NAME:$TAG || local_ref=localhost/$NAME:$TAG ;;
  *) local_ref=localhost/$NAME:$TAG ;;
esac
if [ -n "$out" ]; then
  oci_tar "$local_ref" "$WORK/out.tar"; mv "$WORK/out.tar" "$out"
  log "wrote $out"
  echo "$local_ref sha256:$mdig"
fi

# ---------------------------------------------------------------- --import (containerd, k8s.io)
if [ $import = 1 ]; then
  ref=$local_ref
  [ -S "$SOCK" ] || die "no containerd socket at $SOCK: run scripts/runtime-up.sh"
  ctr=(ctr -a "$SOCK" -n k8s.io)
  have=$(timeout 10 "${ctr[@]}" images ls "name==$ref" 2>/dev/null | awk -v r="$ref" '$1 == r {print $3}') || true
  if [ "$have" = "sha256:$mdig" ]; then
    log "$ref already in containerd"
  else
    oci_tar "$ref" "$WORK/import.tar"
    timeout 60 "${ctr[@]}" images import "$WORK/import.tar" >/dev/null
    rm -f "$WORK/import.tar"
    log "imported $ref into containerd (k8s.io)"
  fi
  echo "$ref sha256:$mdig"
fi

# ---------------------------------------------------------------- --push (registry, curl)
# NODELET_REGISTRY_AUTH=user:password: basic auth on every registry request (curl reads it from
# a config on stdin, so the password is not in the process list)
rcurl() {
  if [ -n "${NODELET_REGISTRY_AUTH:-}" ]; then
    local a=${NODELET_REGISTRY_AUTH//\\/\\\\}
    printf 'user = "%s"\n' "${a//\"/\\\"}" | curl -K - "$@"
  else
    curl "$@"
  fi
}
# push_blob REPO HEX : upload one blob. Starts with a cross-repo mount from busybox (the shared
# layer), which the registry answers with 201 when it has the blob, else with an upload session.
push_blob() {
  local repo=$1 d=$2 hdrs code loc sep
  hdrs=$(rcurl -fsS -X POST -D - -o /dev/null "http://$REG/v2/$repo/blobs/uploads/?mount=sha256:$d&from=busybox")
  code=$(echo "$hdrs" | awk 'NR==1 {print $2}')
  [ "$code" = 201 ] && return 0
  loc=$(echo "$hdrs" | awk 'tolower($1) == "location:" {print $2}' | tr -d '\r')
  [ -n "$loc" ] || die "registry gave no upload location for $repo"
  case $loc in /*) loc="http://$REG$loc" ;; esac
  case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
  rcurl -fsS -X PUT -o /dev/null -H 'Content-Type: application/octet-stream' \
    --data-binary "@$BLOBS/$d" "$loc${sep}digest=sha256:$d"
}
if [ $push = 1 ]; then
  case ${NAME%%/*} in *.*|*:*|localhost) [[ $NAME != */* ]] || die "--push takes a name without registry host (got '$NAME')" ;; esac
  ref=$REG/$NAME:$TAG
  hdrs=$(rcurl -sS -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
           "http://$REG/v2/$NAME/manifests/$TAG" 2>/dev/null) || die "no registry answers on http://$REG: run scripts/runtime-up.sh"
  have=$(awk 'tolower($1) == "docker-content-digest:" {print $2}' <<<"${hdrs//$'\r'/}")
  if [ "$have" = "sha256:$mdig" ]; then
    log "$ref already in the registry"
  else
    for b in $(blob_list); do [ "$b" = "$mdig" ] || push_blob "$NAME" "$b"; done
    rcurl -fsS -X PUT -o /dev/null -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
      --data-binary "@$BLOBS/$mdig" "http://$REG/v2/$NAME/manifests/$TAG"
    log "pushed $ref"
  fi
  echo "$ref sha256:$mdig"
fi
