#!/usr/bin/env bash
# Make the engine image available to the local container engine (CI and the docker tests):
# galaxy-engine:latest and galaxy-engine:<engine version>, built from deploy/engine.Dockerfile
# only when the engine's sources changed (their hash is a label on the image).
#
# With podman (the project's machines: no registry to pull from) the base is a local Debian
# bookworm image with python3, made once with debootstrap and kept between runs; with Docker
# the Dockerfile's default base, the official Python image, is used.
#
#   GALAXY_IMAGE_TOOL          podman or docker (default: podman if installed, else docker)
#   GALAXY_BASE_ROOT           a finished debootstrap tree to import instead of making one
#                              (default /var/tmp/galaxy-base/root, used only if it is there)
#   GALAXY_ENGINE_IMAGE_NAME   default galaxy-engine
#   GALAXY_BASE_IMAGE          default localhost/galaxy-base:bookworm
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${GALAXY_ENGINE_IMAGE_NAME:-galaxy-engine}
BASE_IMAGE=${GALAXY_BASE_IMAGE:-localhost/galaxy-base:bookworm}
BASE_ROOT=${GALAXY_BASE_ROOT:-/var/tmp/galaxy-base/root}
HASH_LABEL=galaxy.engine.source-hash
TOOL=${GALAXY_IMAGE_TOOL:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}

say() { echo "engine_image: $*" >&2; }

# One build at a time on this machine (parallel test sessions, CI and a developer).
exec 9>"${TMPDIR:-/tmp}/galaxy-engine-image.lock"
flock 9

version=$(sed -n 's/^ENGINE_VERSION = "\(.*\)"$/\1/p' src/galaxy_engine/version.py)
[ -n "$version" ] || { say "no ENGINE_VERSION in src/galaxy_engine/version.py"; exit 1; }

build_args=()
base_id=""
if [ "$TOOL" = podman ]; then
  if ! podman image exists "$BASE_IMAGE"; then
    tree=""
    # debootstrap deletes its work directory from the tree only once it has finished.
    if [ -x "$BASE_ROOT/usr/bin/python3" ] && [ ! -e "$BASE_ROOT/debootstrap" ]; then
      tree=$BASE_ROOT
      say "importing $BASE_IMAGE from $tree"
    else
      command -v debootstrap >/dev/null || { say "debootstrap is needed to make $BASE_IMAGE"; exit 1; }
      work=$(mktemp -d "${TMPDIR:-/var/tmp}/galaxy-base.XXXXXX")
      trap 'rm -rf "$work"' EXIT
      tree=$work/root
      say "making $BASE_IMAGE with debootstrap (about a minute, once)"
      if ! debootstrap --variant=minbase --include=python3 bookworm "$tree" >"$work/log" 2>&1; then
        tail -n 20 "$work/log" >&2
        exit 1
      fi
    fi
    tar -C "$tree" -c . | podman import --quiet - "$BASE_IMAGE" >/dev/null
  fi
  base_id=$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE")
  # HEALTHCHECK is kept only in Docker's image format.
  build_args=(--format docker --build-arg "BASE=$BASE_IMAGE")
fi

# What the image is made of: the Dockerfile, what it copies, and the base it starts from.
hash=$(
  {
    sha256sum deploy/engine.Dockerfile .dockerignore
    find src/galaxy_engine -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum
    echo "base $base_id"
  } | sha256sum | cut -c1-64
)

current=$("$TOOL" image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" \
  "$IMAGE:latest" 2>/dev/null || true)
if [ "$current" = "$hash" ]; then
  "$TOOL" tag "$IMAGE:latest" "$IMAGE:$version"
  say "$IMAGE:latest ($version) is up to date"
  exit 0
fi

previous=$("$TOOL" image inspect --format '{{.Id}}' "$IMAGE:latest" 2>/dev/null || true)
say "building $IMAGE:latest and $IMAGE:$version"
"$TOOL" build --quiet "${build_args[@]}" --label "$HASH_LABEL=$hash" \
  -f deploy/engine.Dockerfile -t "$IMAGE:latest" -t "$IMAGE:$version" . >/dev/null
# The image it replaces, unless something still uses or names it.
if [ -n "$previous" ]; then
  "$TOOL" image rm "$previous" >/dev/null 2>&1 || true
fi
say "built $IMAGE:latest ($version)"
