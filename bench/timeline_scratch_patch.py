#!/usr/bin/env python3
"""Scratch patch (issue #14): a per-block timeline of the serial forward.

Applied to a throw-away branch only, never to main: adds SPA_TIMELINE=1
(lib/Conversion/SpaToGPU/TimelineScratch.h), read by the generator. Thread 0
of every block of a one-item-a-block forward kernel then stamps the GPU's
global timer (ns, low 32 bits) and its SM into the log-sum-exp output, which
the kernel no longer writes (so the lse is wrong; O is still computed):

  lse.flat[8 * block + 0]  block start (before the first-wave stagger)
  lse.flat[8 * block + 1]  item start (after the stagger)
  lse.flat[8 * block + 2]  mainloop end (items with keys only; else left 0)
  lse.flat[8 * block + 3]  block end (after the epilogue and its stores)
  lse.flat[8 * block + 4]  SM id
  lse.flat[8 * block + 5]  1 where the item reaches keys

as int32 bits in the float32 slots (bench/forward_timeline.py reads them).
Where does a forward's time go between blocks: the waves, the per-item start
and epilogue, the tail where SMs idle, the zero tail's phase?

    git checkout -b timeline-scratch && python3 bench/timeline_scratch_patch.py . \\
      && git commit -qam scratch && ninja -C build
"""
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".") / "lib/Conversion/SpaToGPU"

(root / "TimelineScratch.h").write_text('''// SCRATCH (branch timeline-scratch, never merged): SPA_TIMELINE=1 stamps a
// per-block timeline into the lse output (bench/timeline_scratch_patch.py).
#ifndef SPA_TIMELINE_SCRATCH_H
#define SPA_TIMELINE_SCRATCH_H
#include "KernelContext.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include <cstdlib>
namespace mlir::spa::gpu_kernel {
inline bool timelineOn() { return std::getenv("SPA_TIMELINE") != nullptr; }
/// The global timer's low 32 bits, as f32 bits.
inline Value timelineNow(ImplicitLocOpBuilder &b) {
  Value t = NVVM::GlobalTimerLoOp::create(b, b.getI32Type());
  return arith::BitcastOp::create(b, b.getF32Type(), t);
}
inline Value timelineSm(ImplicitLocOpBuilder &b) {
  Value s = NVVM::SmIdOp::create(b, b.getI32Type());
  return arith::BitcastOp::create(b, b.getF32Type(), s);
}
inline Value timelineBits(ImplicitLocOpBuilder &b, int32_t v) {
  Value c = arith::ConstantIntOp::create(b, b.getI32Type(), v);
  return arith::BitcastOp::create(b, b.getF32Type(), c);
}
/// lse.flat[8 * block + slot] = value (f32 bits), by thread 0 only.
inline void timelineStore(ImplicitLocOpBuilder &b, const KernelContext &k,
                          int64_t slot, Value value) {
  if (!timelineOn() || !k.lse)
    return;
  GpuArith e{b};
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  emitIf(b, e.cmp(P::eq, tid, e.index(0)), [&](ImplicitLocOpBuilder &ib) {
    GpuArith ie{ib};
    auto type = cast<MemRefType>(k.lse.getType());
    int64_t heads = type.getDimSize(1), rows = type.getDimSize(2);
    Value flat = ie.add(ie.mul(block, ie.index(8)), ie.index(slot));
    Value row = ie.rem(flat, ie.index(rows));
    Value head = ie.rem(ie.div(flat, ie.index(rows)), ie.index(heads));
    Value batch = ie.div(flat, ie.index(rows * heads));
    memref::StoreOp::create(ib, value, k.lse, ValueRange{batch, head, row});
  });
}
} // namespace mlir::spa::gpu_kernel
#endif
''')


def patch(name, old, new, count=1):
    path = root / name
    text = path.read_text()
    if text.count(old) != count:
        sys.exit(f"{name}: expected {count} of {old!r}, found {text.count(old)}")
    path.write_text(text.replace(old, new))


patch("Epilogue.cpp", '#include "StagedStores.h"\n',
      '#include "StagedStores.h"\n#include "TimelineScratch.h"\n')
patch("Epilogue.cpp", "      if (cfg.withLse) {", "      if (cfg.withLse && !timelineOn()) {")
patch("KernelSkeleton.cpp", '#include "WaveStagger.h"\n',
      '#include "WaveStagger.h"\n#include "TimelineScratch.h"\n')
patch("KernelSkeleton.cpp", "    if (cfg.withLse)\n      fillRowStatistic(",
      "    if (cfg.withLse && !timelineOn())\n      fillRowStatistic(")
# Block start before the stagger, item start after it (non-persistent only).
patch("KernelSkeleton.cpp", """    if (!cfg.persistent()) {
      emitWaveStagger(b, block, cfg);
      return body(b, block);
    }""", """    if (!cfg.persistent()) {
      Value start = timelineNow(b);
      emitWaveStagger(b, block, cfg);
      timelineStore(b, k, 0, start);
      timelineStore(b, k, 1, timelineNow(b));
      timelineStore(b, k, 4, timelineSm(b));
      body(b, block);
      timelineStore(b, k, 3, timelineNow(b));
      return;
    }""")
patch("KernelSkeleton.cpp", """    mainloop->releaseQuery(b);
    finishItem(b, state);""", """    timelineStore(b, k, 2, timelineNow(b));
    timelineStore(b, k, 5, timelineBits(b, 1));
    mainloop->releaseQuery(b);
    finishItem(b, state);""")
print("patched", root)
