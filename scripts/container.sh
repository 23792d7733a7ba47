#!/usr/bin/env bash
# Build the repository's Dockerfile into an image with buildah, without a container daemon (chroot isolation).
#
#   ./scripts/container.sh build            the image $IMAGE (default localhost/adapter-stack:local); its base first
#   ./scripts/container.sh base             only the base image the Dockerfile's FROM names (python:3.11-slim)
#
# The base: pulled from its registry when one answers; otherwise assembled from Debian's packages (debootstrap
# bookworm: python3 3.11, python3-venv, ca-certificates) and kept in buildah's storage as
# localhost/python:3.11-slim, labelled with a stamp of how it was made: later builds reuse it until that changes.
#
# Behind a proxy that inspects TLS (a corporate proxy): the RUN steps that download (apt-get, pip) need its CA.
# BUILD_CA_FILE (default: $PIP_CERT, $REQUESTS_CA_BUNDLE, $SSL_CERT_FILE or /etc/ssl/certs/ca-certificates.crt,
# the first that exists) is mounted read-only into every RUN step, with a pip.conf that names it; neither ends up
# in the image. HTTP_PROXY, HTTPS_PROXY and NO_PROXY (any case) reach the RUN steps as build arguments.
#
# Needs root (buildah's storage, debootstrap) and buildah + debootstrap (Debian/Ubuntu: apt-get install buildah
# debootstrap). Settings: IMAGE, BUILD_CA_FILE, DEBIAN_MIRROR (default http://deb.debian.org/debian),
# BASE_SOURCE (auto, pull or assemble; default auto).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

IMAGE="${IMAGE:-localhost/adapter-stack:local}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE_SOURCE="${BASE_SOURCE:-auto}"
# What the Dockerfile's FROM names, where a registry has it, and where the assembled stand-in is kept.
base_name=python:3.11-slim
base_remote=docker.io/library/$base_name
base_local=localhost/$base_name
base_label=org.adapter-stack.base-stamp
# Debian's bookworm has Python 3.11 (3.11.2), the version the real base carries.
base_suite=bookworm
base_packages=python3,python3-venv,ca-certificates
# Change when assemble_base changes what it makes: the next build assembles the base again.
base_recipe=1

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

need_tools() {  # need_tools TOOL...: each one on PATH, or a clear error
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 \
      || die "$tool is required: install it (Debian/Ubuntu: apt-get install buildah debootstrap)"
  done
  (( EUID == 0 )) || die "building images here needs root (buildah's storage, debootstrap's chroot)"
}

base_stamp() {  # what the assembled base is made of: its stamp label
  printf '%s %s %s %s\n' "$base_recipe" "$base_suite" "$base_packages" "$DEBIAN_MIRROR" | sha256sum | cut -c1-16
}

image_label() {  # image_label IMAGE LABEL: the label's value, nothing if the image or the label is missing
  buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

registry_answers() {  # the base's registry answers (any HTTP status) within 10 s
  local code
  code="$(curl -sS -o /dev/null -m 10 -w '%{http_code}' https://registry-1.docker.io/v2/ 2>/dev/null || true)"
  [[ $code =~ ^[1-5][0-9][0-9]$ ]]
}

pull_base() {
  info "pulling $base_remote"
  timeout 600 buildah pull --quiet "$base_remote" >/dev/null || die "could not pull $base_remote"
  ok "base $base_remote pulled"
}

assemble_base() {
  # debootstrap straight into a scratch container's root, then the Python image's conventions: pip may install
  # into venvs made from this python (no EXTERNALLY-MANAGED), /usr/local/bin/python exists.
  local ctr mnt stamp
  stamp="$(base_stamp)"
  info "assembling $base_local from Debian $base_suite ($base_packages; takes a minute or two)"
  ctr="$(buildah from scratch)"
  # shellcheck disable=SC2064  # the container's name now, not at exit
  trap "buildah rm '$ctr' >/dev/null 2>&1 || true" EXIT
  mnt="$(buildah mount "$ctr")"
  timeout 900 debootstrap --variant=minbase --include="$base_packages" "$base_suite" "$mnt" "$DEBIAN_MIRROR" \
    >"$mnt.debootstrap.log" 2>&1 || { tail -n 30 "$mnt.debootstrap.log" >&2; die "debootstrap failed"; }
  rm -f "$mnt.debootstrap.log" "$mnt"/usr/lib/python3.11/EXTERNALLY-MANAGED
  ln -sf /usr/bin/python3 "$mnt/usr/local/bin/python"
  ln -sf /usr/bin/python3 "$mnt/usr/local/bin/python3"
  # The security and update suites too, as Debian's own images have them, so apt-get in a build gets fixes.
  cat >"$mnt/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $base_suite main
deb $DEBIAN_MIRROR $base_suite-updates main
deb ${DEBIAN_MIRROR%/debian}/debian-security $base_suite-security main
EOF
  rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/var/cache/apt/*.bin "$mnt"/var/cache/apt/archives/*.deb
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --cmd python3 --label "$base_label=$stamp" "$ctr"
  buildah commit --quiet --rm "$ctr" "$base_local" >/dev/null
  trap - EXIT
  ok "base $base_local assembled (stamp $stamp)"
}

ensure_base() {
  local source=$BASE_SOURCE
  if [[ $source == auto ]]; then
    if buildah inspect --type image "$base_remote" >/dev/null 2>&1; then return 0; fi
    if [[ $(image_label "$base_local" "$base_label") == "$(base_stamp)" ]]; then
      ok "base $base_local is in buildah's storage (stamp $(base_stamp))"
      return 0
    fi
    if registry_answers; then source=pull; else source=assemble; fi
  fi
  case $source in
    pull) pull_base ;;
    assemble)
      [[ $(image_label "$base_local" "$base_label") == "$(base_stamp)" ]] || assemble_base ;;
    *) die "BASE_SOURCE must be auto, pull or assemble (got $source)" ;;
  esac
}

ca_file() {  # the CA bundle the RUN steps trust, or nothing
  local file
  if [[ -n ${BUILD_CA_FILE:-} ]]; then  # asked for by name: a wrong path stops, not a silent fallback
    [[ -f $BUILD_CA_FILE ]] || die "BUILD_CA_FILE=$BUILD_CA_FILE is not a file"
    printf '%s\n' "$BUILD_CA_FILE"
    return 0
  fi
  for file in "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
    if [[ -n $file && -f $file ]]; then printf '%s\n' "$file"; return 0; fi
  done
}

drop_replaced() {  # drop_replaced OLD_ID: remove the image a build replaced, once no name points at it any more
  local old=$1
  [[ -n $old && $old != "$(image_id "$IMAGE")" ]] || return 0
  buildah images --no-trunc --noheading --format '{{.ID}} {{.Name}}' 2>/dev/null \
    | awk -v id="$old" '($1 == id || $1 == "sha256:" id) && $2 != "<none>" { named = 1 } END { exit !named }' \
    && return 0  # another name still points at it
  buildah rmi "$old" >/dev/null 2>&1 || true  # still a parent of another image: it stays
}

image_id() {  # image_id IMAGE: its id, nothing if missing
  buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true
}

build_image() {
  local ca work args=() name old
  ca="$(ca_file)"  # before the base: a wrong BUILD_CA_FILE stops at once, not after minutes of debootstrap
  ensure_base
  old="$(image_id "$IMAGE")"
  work="$(mktemp -d "${TMPDIR:-/tmp}/container-build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  if [[ -n $ca ]]; then
    # Mounted over the image's own bundle for apt and curl; pip reads certifi's unless pip.conf names this one.
    cp "$ca" "$work/ca.crt"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$work/pip.conf"
    args+=(-v "$work/ca.crt:/etc/ssl/certs/ca-certificates.crt:ro" -v "$work/pip.conf:/etc/pip.conf:ro")
  fi
  for name in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    if [[ -n ${!name:-} ]]; then args+=(--build-arg "$name=${!name}"); fi
  done
  info "building $IMAGE from $(display_path "$root_dir/Dockerfile")"
  timeout 1500 buildah bud --isolation chroot --format docker --layers --force-rm --pull=never "${args[@]}" -t "$IMAGE" \
    -f "$root_dir/Dockerfile" "$root_dir" || die "building $IMAGE failed; see the output above"
  # Each change of the sources makes a new image under the same name: the old one would pile up in the storage.
  drop_replaced "$old"
  ok "image $IMAGE built"
}

main() {
  case ${1:-} in
    build) need_tools buildah debootstrap curl; build_image ;;
    base) need_tools buildah debootstrap curl; ensure_base ;;
    -h | --help) usage ;;
    *) usage >&2; die "say build or base" ;;
  esac
}

main "$@"
