#!/bin/bash
# The GPU machine's check of the fused WebGPU engine, from what
# scripts/gpu/prepare.sh packed into .gpu/ (name .gpu in the device tool's
# carry): the WebGPU conformance tests on the hardware adapter, the engines
# bench against PyTorch eager, and the kernel sweep. Logs go to $OUT.
#   bash .gpu/check.sh            on the device (unpacks the Vulkan loader)
#   bash .gpu/check.sh local      here, on llvmpipe (add SWEEP_ARGS=--quick)
# Optional: PROBE=1 (dispatch and round-trip costs), STOCK=1 (stock
# tfjs-webgpu model.fit), *_S (time limits in seconds).
MODE=${1:-device}
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
T0=$(date +%s)
stamp() { echo "=== $1 at +$(($(date +%s) - T0))s"; }
if [ "$MODE" = "device" ]; then
  for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.gpu/deno.xz'), open('/tmp/deno','wb'))" &&
  chmod +x /tmp/deno
export PATH=/tmp:$PATH DENO_NO_UPDATE_CHECK=1 DENO_DIR=/tmp/denodir NO_COLOR=1
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 && [ -f $icd ]; then
  export VK_DRIVER_FILES=$icd
fi
stamp setup
deno --version | head -1
nvidia-smi -L 2>&1
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())" 2>&1 | tail -1
if [ -n "${PROBE:-}" ]; then
  stamp probe
  timeout -k 5 "${PROBE_S:-60}" deno run -A --no-check .gpu/probe.js 2>&1 | tee "$OUT/probe.log"
fi
stamp test
timeout -k 5 "${TEST_S:-90}" deno test -A --no-check .gpu/fused_test.js --filter "fused webgpu" \
  >"$OUT/test.log" 2>&1
echo "test rc=$?"
grep -E "\.\.\. (ok|FAILED)|passed|failed|rror" "$OUT/test.log" | head -40
stamp bench
# shellcheck disable=SC2086
timeout -k 5 "${BENCH_S:-120}" deno run -A --no-check .gpu/bench.js --no-backends --engines fused \
  ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log"
if [ -n "${STOCK:-}" ]; then
  stamp stock
  # shellcheck disable=SC2086
  timeout -k 5 "${STOCK_S:-40}" deno run -A --no-check .gpu/sweep.js --stock-only ${SWEEP_ARGS:-} 2>&1 |
    grep -v "^$\|=====\|Hi, looks" | tee "$OUT/stock.log"
fi
stamp sweep
# shellcheck disable=SC2086
timeout -k 5 "${SWEEP_S:-120}" deno run -A --no-check .gpu/sweep.js --no-stock ${SWEEP_ARGS:-} 2>&1 |
  grep -v "^$\|=====\|Hi, looks" | tee "$OUT/sweep.log"
stamp done
