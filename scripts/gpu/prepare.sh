#!/bin/bash
# Packs what scripts/gpu/check.sh needs on a bare GPU machine (no Deno, no
# registry) into .gpu/, which .gitignore keeps out of git: the Deno
# binary (xz, ~30 MB, so the tree stays under the device tool's 64 MiB), the
# Vulkan/GL loader packages, and self-contained bundles of the bench, the
# fused-engine tests, the kernel sweep and the dispatch probe (no node_modules
# needed there; the bundles take @alfred/engines from packages/engines through
# the workspace). Run from the repository root on a machine with npm and apt.
set -euo pipefail
DENO_VERSION=2.9.6
mkdir -p .gpu/gl /tmp/amd64/partial
if [ ! -f .gpu/deno.xz ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack "@deno/linux-x64-glibc@$DENO_VERSION" >/dev/null && tar xzf ./*.tgz)
  xz -T0 -9 -c "$tmp/package/deno" > .gpu/deno.xz
  rm -rf "$tmp"
fi
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
if ! ls .gpu/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd .gpu/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
DENO=${DENO:-deno}
$DENO bundle --platform deno scripts/gpu/bench.ts -o .gpu/bench.js
$DENO bundle --platform deno scripts/gpu/sweep.ts -o .gpu/sweep.js
$DENO bundle --platform deno scripts/gpu/probe.ts -o .gpu/probe.js
$DENO bundle --platform deno tests/engines_fused_test.ts -o .gpu/fused_test.js
# The fused CPU engine starts its threads from ./cpu_worker.ts beside the module
# that asks, which in a bundle is the bundle: without it the bench's wasm sgemm
# reference (and any fused CPU run on more than one thread) fails there.
$DENO bundle --platform deno packages/engines/src/cpu_worker.ts -o .gpu/cpu_worker.ts
# The bench finds the PyTorch baseline beside its bundle.
cp packages/engines/bench/torch_baseline.py .gpu/
cp scripts/gpu/check.sh .gpu/
du -sh .gpu
