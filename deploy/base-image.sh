#!/usr/bin/env bash
# Builds a local stand-in for node:20-bookworm-slim without any registry: a debootstrapped Debian
# bookworm rootfs plus this machine's Node.js 20 (node, npm, corepack and its headers), imported with
# `docker import` under the tag given as $1. The Dockerfile takes it through its BASE_IMAGE build ARG.
#
# Needs root, debootstrap and a reachable Debian mirror (DEBIAN_MIRROR). Reuses the tag if it exists.
set -euo pipefail
TAG=${1:-switchboard-base:bookworm-node20}
DOCKER=${DOCKER:-/usr/bin/docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${SB_DEPLOY_CACHE:-/var/tmp/switchboard-deploy}

if "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image $TAG already present"
  exit 0
fi
NODE_BIN=$(readlink -f "$(command -v node)")
"$NODE_BIN" -e 'if (process.versions.node.split(".")[0] !== "20") { console.error("need Node.js 20, have " + process.version); process.exit(1) }'
NODE_PREFIX=$(dirname "$(dirname "$NODE_BIN")")
mkdir -p "$CACHE"
ROOTFS="$CACHE/rootfs"
if [ ! -f "$CACHE/rootfs.done" ]; then
  rm -rf "$ROOTFS"
  debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR"
  touch "$CACHE/rootfs.done"
fi
# The official image keeps node under /usr/local; so does the stand-in.
install -D -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
rm -rf "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/usr/local/include/node"
mkdir -p "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/usr/local/include"
cp -a "$NODE_PREFIX/lib/node_modules/npm" "$ROOTFS/usr/local/lib/node_modules/npm"
[ -d "$NODE_PREFIX/lib/node_modules/corepack" ] && cp -a "$NODE_PREFIX/lib/node_modules/corepack" "$ROOTFS/usr/local/lib/node_modules/corepack"
cp -a "$NODE_PREFIX/include/node" "$ROOTFS/usr/local/include/node"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
# The official image has a `node` user (uid 1000); the Dockerfile makes its own user and needs none.
rm -rf "$ROOTFS/var/cache/apt/archives/"*.deb "$ROOTFS/var/lib/apt/lists/"*
# This host may reach the npm registry through a proxy with its own CA: the stand-in trusts what the host
# trusts (the official image would reach the registry directly).
HOST_CA=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
install -D -m 0644 "$HOST_CA" "$ROOTFS/usr/local/share/host-ca/ca-certificates.crt"
# node-gyp would download Node's headers; the stand-in has them (the official image has internet instead).
tar -C "$ROOTFS" -c . | "$DOCKER" import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV npm_config_nodedir=/usr/local' \
  -c 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca/ca-certificates.crt' \
  -c 'ENV npm_config_cafile=/usr/local/share/host-ca/ca-certificates.crt' \
  -c 'CMD ["node"]' - "$TAG"
echo "imported $TAG"
