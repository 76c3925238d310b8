#!/usr/bin/env bash
# Compile the toolchain probe kernels (kernels.mlir) with Debian's MLIR 22 and
# CUDA 13's ptxas into cubins + PTX for sm_90a, and stage everything the GPU
# machine needs in the git-ignored folder .device/gpu-toolchain/.
#
#   bash experiments/gpu-toolchain/build.sh          # from the repo root
#
# Then, on the device (run tool, carry [".device"]):
#   bash .device/gpu-toolchain/device_run.sh
#
# Env: MLIR_BIN (default /usr/lib/llvm-22/bin), CUDA_HOME (default /usr/local/cuda).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MLIR_BIN="${MLIR_BIN:-/usr/lib/llvm-22/bin}"
CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
OPT="$MLIR_BIN/mlir-opt"
OUTDIR="$ROOT/.device/gpu-toolchain"
LOG="$OUTDIR/build.log"
mkdir -p "$OUTDIR"
: >"$LOG"
export PATH="$CUDA_HOME/bin:$PATH"   # gpu-module-to-binary finds ptxas here

say() { echo "$*" | tee -a "$LOG"; }
say "== tools"
"$OPT" --version | sed -n 2p | tee -a "$LOG"
ptxas --version | tail -1 | tee -a "$LOG"

CHIP=sm_90a
FEATURES=+ptx80

# ---------------------------------------------------------------------------
# A. The working recipe: the upstream pipeline, default (memref descriptor)
#    kernel ABI, O3.  format=bin -> cubin (ptxas run by gpu-module-to-binary),
#    format=isa -> PTX text.
# ---------------------------------------------------------------------------
PIPE_A="cubin-chip=$CHIP cubin-features=$FEATURES opt-level=3"
say "== A: --gpu-lower-to-nvvm-pipeline=\"$PIPE_A cubin-format=bin|isa\""
"$OPT" "$HERE/kernels.mlir" --gpu-lower-to-nvvm-pipeline="$PIPE_A cubin-format=bin" \
  -o "$OUTDIR/kernels.bin.mlir"
"$OPT" "$HERE/kernels.mlir" --gpu-lower-to-nvvm-pipeline="$PIPE_A cubin-format=isa" \
  -o "$OUTDIR/kernels.isa.mlir"
X="python3 $HERE/extract_binary.py"
$X "$OUTDIR/kernels.bin.mlir" "$OUTDIR/kernel.cubin" --module kernels --expect bin | tee -a "$LOG"
$X "$OUTDIR/kernels.isa.mlir" "$OUTDIR/kernel.ptx" --module kernels --expect assembly | tee -a "$LOG"
$X "$OUTDIR/kernels.bin.mlir" "$OUTDIR/kernel_dyn.cubin" --module dynsmem --expect bin | tee -a "$LOG"
$X "$OUTDIR/kernels.isa.mlir" "$OUTDIR/kernel_dyn.ptx" --module dynsmem --expect assembly | tee -a "$LOG"

# Hopper file (TMA + mbarrier + wgmma), same pipeline.
"$OPT" "$HERE/kernels_sm90.mlir" --gpu-lower-to-nvvm-pipeline="$PIPE_A cubin-format=bin" \
  -o "$OUTDIR/kernels_sm90.bin.mlir"
"$OPT" "$HERE/kernels_sm90.mlir" --gpu-lower-to-nvvm-pipeline="$PIPE_A cubin-format=isa" \
  -o "$OUTDIR/kernels_sm90.isa.mlir"
$X "$OUTDIR/kernels_sm90.bin.mlir" "$OUTDIR/kernel_sm90.cubin" --expect bin | tee -a "$LOG"
$X "$OUTDIR/kernels_sm90.isa.mlir" "$OUTDIR/kernel_sm90.ptx" --expect assembly | tee -a "$LOG"

# ---------------------------------------------------------------------------
# B. The explicit pass chain (what the pipeline expands to, spelled out) with
#    the bare-pointer kernel ABI.  Bare pointers need statically shaped
#    memrefs, so the memref<?xT> arguments are rewritten to a static upper
#    bound (2^30 elements; nothing checks bounds) in kernels_bare.mlir.
# ---------------------------------------------------------------------------
sed -e 's/memref<?xbf16>/memref<1073741824xbf16>/g' \
    -e 's/memref<?xf32>/memref<1073741824xf32>/g' \
    "$HERE/kernels.mlir" >"$OUTDIR/kernels_bare.mlir"
CHAIN="builtin.module(convert-nvgpu-to-nvvm,gpu-kernel-outlining,convert-vector-to-scf,\
convert-scf-to-cf,convert-nvvm-to-llvm,convert-func-to-llvm,expand-strided-metadata,\
nvvm-attach-target{chip=$CHIP features=$FEATURES O=3},lower-affine,convert-arith-to-llvm,\
convert-index-to-llvm,canonicalize,cse,\
gpu.module(convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},canonicalize,cse,reconcile-unrealized-casts),\
gpu-to-llvm{use-bare-pointers-for-kernels=1},reconcile-unrealized-casts,gpu-module-to-binary{format=FORMAT})"
say "== B: --pass-pipeline=\"${CHAIN//FORMAT/bin|isa}\""
"$OPT" "$OUTDIR/kernels_bare.mlir" --pass-pipeline="${CHAIN//FORMAT/bin}" -o "$OUTDIR/kernels_bare.bin.mlir"
"$OPT" "$OUTDIR/kernels_bare.mlir" --pass-pipeline="${CHAIN//FORMAT/isa}" -o "$OUTDIR/kernels_bare.isa.mlir"
$X "$OUTDIR/kernels_bare.bin.mlir" "$OUTDIR/kernel_bare.cubin" --module kernels --expect bin | tee -a "$LOG"
$X "$OUTDIR/kernels_bare.isa.mlir" "$OUTDIR/kernel_bare.ptx" --module kernels --expect assembly | tee -a "$LOG"

# ---------------------------------------------------------------------------
# Checks on this machine: the instructions we meant are in the PTX, the
# kernel signatures, and ptxas's resource report (registers, smem, spills).
# ---------------------------------------------------------------------------
census() {  # file patterns...
  local f=$1; shift
  say "== PTX instruction census ($f)"
  for pat in "$@"; do
    printf '  %-62s %s\n' "$pat" "$(grep -c -F "$pat" "$OUTDIR/$f" || true)" | tee -a "$LOG"
  done
}
census kernel.ptx 'mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32' 'ldmatrix.sync.aligned.m8n8.x4' \
  'ldmatrix.sync.aligned.m8n8.x2' 'cp.async.cg.shared.global' 'cp.async.commit_group' \
  'cp.async.wait_group' 'bar.sync' 'ex2.approx' 'st.global.v2' '.extern .shared'
census kernel_dyn.ptx '.extern .shared' '__dynamic_shmem__'
census kernel_sm90.ptx 'wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16' 'wgmma.fence.sync.aligned' \
  'wgmma.commit_group.sync.aligned' 'wgmma.wait_group.sync.aligned' \
  'cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes' \
  'mbarrier.init.shared.b64' 'fence.mbarrier_init.release.cluster' 'mbarrier.arrive.expect_tx' \
  'mbarrier.try_wait.parity' '.extern .shared .align 1024'
n_wg=$(grep -c -F 'wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16' "$OUTDIR/kernel_sm90.ptx" || true)
[ "$n_wg" -ge 8 ] || { say "FAIL: expected 8 wgmma in kernel_sm90.ptx, got $n_wg"; exit 1; }
n_mma=$(grep -c -F 'mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32' "$OUTDIR/kernel.ptx" || true)
[ "$n_mma" -ge 8 ] || { say "FAIL: expected >= 8 bf16 mma.sync in PTX, got $n_mma"; exit 1; }
say "== kernel parameter lists (.param count per entry)"
for f in kernel.ptx kernel_dyn.ptx kernel_bare.ptx kernel_sm90.ptx; do
  python3 - "$OUTDIR/$f" <<'EOF' | tee -a "$LOG"
import re, sys
t = open(sys.argv[1]).read()
for m in re.finditer(r"\.entry (\w+)\(\s*(.*?)\)", t, re.S):
    ps = [p.split() for p in m.group(2).split(",")]
    # ".param .u64 .ptr .align 1 NAME" -> "ptr"; ".param .u64 NAME" -> "u64"
    ty = ["ptr" if ".ptr" in p else p[1].lstrip(".") for p in ps]
    print(f"  {sys.argv[1].split('/')[-1]:16s} {m.group(1):14s} {len(ps):2d} params: " + " ".join(ty))
EOF
done
say "== ptxas -v (resource usage, $CHIP, -O3)"
for f in kernel.ptx kernel_dyn.ptx kernel_sm90.ptx kernel_bare.ptx; do
  ptxas -arch=$CHIP -O3 -v "$OUTDIR/$f" -o /dev/null 2>&1 | grep -E "Compiling|Used|spill" \
    | sed "s/^/  [$f] /" | tee -a "$LOG"
done

# ---------------------------------------------------------------------------
# Probes: small files that record what lowers in MLIR 22 and what does not.
# Each line: probe, expected outcome, actual outcome (+ first error line).
# ---------------------------------------------------------------------------
say "== probes (probes/*.mlir; expectation in each file's first line)"
PROBE_FAIL=0
PD="$OUTDIR/probes"; mkdir -p "$PD"
for p in "$HERE"/probes/*.mlir; do
  name=$(basename "$p" .mlir)
  expect=$(sed -n '1s/^\/\/ EXPECT: *//p' "$p")
  pipe=$(sed -n '2s/^\/\/ PIPELINE: *//p' "$p")
  [ -n "$pipe" ] || pipe="--gpu-lower-to-nvvm-pipeline=cubin-chip=$CHIP cubin-features=$FEATURES opt-level=3 cubin-format=isa"
  if "$OPT" "$p" "$pipe" -o "$PD/$name.out.mlir" 2>"$PD/$name.err"; then
    got=ok; detail=""
    # optional: PTX must contain a pattern (third line: // PTX-HAS: a|b|c)
    has=$(sed -n '3s/^\/\/ PTX-HAS: *//p' "$p")
    if [ -n "$has" ]; then
      python3 "$HERE/extract_binary.py" "$PD/$name.out.mlir" "$PD/$name.ptx" >/dev/null
      IFS='|' read -ra pats <<<"$has"
      for pt in "${pats[@]}"; do
        c=$(grep -c -F "$pt" "$PD/$name.ptx" || true)
        detail="$detail $pt:$c"
        [ "$c" -gt 0 ] || got=missing-ptx
      done
    fi
  else
    got=error; detail=$(grep -m1 'error:' "$PD/$name.err" | sed 's/^[^ ]* //')
  fi
  mark=OK; [ "$got" = "$expect" ] || { mark=UNEXPECTED; PROBE_FAIL=1; }
  say "  [$mark] $name: expect=$expect got=$got $detail"
done

# ---------------------------------------------------------------------------
# Stage for the device.
# ---------------------------------------------------------------------------
cp "$HERE/run_on_gpu.py" "$HERE/device_run.sh" "$OUTDIR/"
say "== staged in $OUTDIR:"
(cd "$OUTDIR" && ls -l *.cubin *.ptx run_on_gpu.py device_run.sh) | tee -a "$LOG"
[ "$PROBE_FAIL" = 0 ] || { say "some probes did not behave as recorded"; exit 2; }
say "build OK"
