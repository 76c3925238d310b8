"""Scratch ablation hooks for the GPU generator (issues #11, #14).

Applied to a throw-away branch only, never to main: adds SPA_ABLATE=a,b,...
(lib/Conversion/SpaToGPU/AblationScratch.h), read by the generator, which
removes parts of the generated kernels so that their cost can be timed
(bench/gpu_ablation_device.sh). The ablated kernels compute wrong results.
  nomask   every tile taken as interior (forward and backward)
  noepi    the forward O/lse epilogue and the dK/dV stores under a
           run-time-false condition
  nostats  the dK/dV kernel's lse and Delta as constants
  nostore  the dK/dV kernel's dS staging and bulk store skipped
  rowmasks (a candidate) the dK/dV kernel's per-row query masks always
  dspzero  (a candidate) dS^T never masked by branch, zeroed where P^T is 0
Usage: git checkout -b ablate-scratch && python3 bench/ablation_scratch_patch.py .
"""
import pathlib
import sys

root = pathlib.Path(sys.argv[1]) / "lib/Conversion/SpaToGPU"


def edit(name, old, new):
    """Replaces the one occurrence of `old` in generator file `name`."""
    p = root / name
    s = p.read_text()
    assert s.count(old) == 1, (name, old, s.count(old))
    p.write_text(s.replace(old, new))


def include_hooks(name):
    """Includes AblationScratch.h before the first include of `name`."""
    p = root / name
    s = p.read_text()
    first = s.index("#include")
    p.write_text(s[:first] + '#include "AblationScratch.h"\n' + s[first:])


(root / "AblationScratch.h").write_text('''// SCRATCH (branch ablate-scratch, never merged): SPA_ABLATE=a,b,... removes
// parts of the generated kernels for timing ablations; outputs are wrong.
#ifndef SPA_ABLATION_SCRATCH_H
#define SPA_ABLATION_SCRATCH_H
#include "KernelContext.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include <cstdlib>
#include <string>
namespace mlir::spa::gpu_kernel {
inline bool ablate(const char *part) {
  const char *env = std::getenv("SPA_ABLATE");
  if (!env)
    return false;
  std::string all = std::string(",") + env + ",";
  return all.find(std::string(",") + part + ",") != std::string::npos;
}
/// `cond`, or true where SPA_ABLATE names `part`.
inline Value trueIfAblated(ImplicitLocOpBuilder &b, const char *part,
                           Value cond) {
  if (!ablate(part))
    return cond;
  return arith::ConstantIntOp::create(b, b.getI1Type(), 1).getResult();
}
/// `emit` as it is, or, where SPA_ABLATE names `part`, under a condition
/// false at run time that the compiler cannot see (nothing before it is
/// removed as dead).
inline void skipIfAblated(ImplicitLocOpBuilder &b, const char *part,
                          Value batch,
                          function_ref<void(ImplicitLocOpBuilder &)> emit) {
  if (!ablate(part))
    return emit(b);
  GpuArith e{b};
  scf::IfOp::create(b, e.cmp(arith::CmpIPredicate::eq, batch, e.index(987654)),
                    [&](OpBuilder &nb, Location l) {
                      ImplicitLocOpBuilder ib(l, nb);
                      emit(ib);
                      scf::YieldOp::create(ib);
                    });
}
} // namespace mlir::spa::gpu_kernel
#endif
''')
include_hooks("BackwardTile.cpp")
edit("BackwardTile.cpp", "  auto ifOp = scf::IfOp::create(\n      b, pair.interior,",
     "  auto ifOp = scf::IfOp::create(\n      b, trueIfAblated(b, \"nomask\", pair.interior),")
include_hooks("Softmax.cpp")
edit("Softmax.cpp", "  Value interior = e.andi(allKeys, inside);",
     "  Value interior = trueIfAblated(b, \"nomask\", e.andi(allKeys, inside));")
include_hooks("KernelSkeleton.cpp")
edit("KernelSkeleton.cpp", """    else
      emitEpilogue(b, k, state, mainloop->epilogueStaging());""",
"""    else
      skipIfAblated(b, "noepi", k.batchIdx, [&](ImplicitLocOpBuilder &ib) {
        emitEpilogue(ib, k, state, mainloop->epilogueStaging());
      });""")
bkv = "BackwardKeyValue.cpp"
include_hooks(bkv)
edit(bkv, "    storeKeyValueGrads(b, j0, results);\n  }",
"""    skipIfAblated(b, "noepi", k.batchIdx, [&](ImplicitLocOpBuilder &ib) {
      storeKeyValueGrads(ib, j0, results);
    });
  }""")
edit(bkv, """          if (!grad.stagesStreamLse)
            return lse2[2 * nt + i];
          GpuArith se{eb};""", """          if (ablate("nostats"))
            return GpuArith{eb}.f32(1.0);
          if (!grad.stagesStreamLse)
            return lse2[2 * nt + i];
          GpuArith se{eb};""")
edit(bkv, """          if (!grad.stagesStreamDelta)
            return delta[2 * nt + i];""", """          if (ablate("nostats"))
            return GpuArith{eb}.f32(0.5);
          if (!grad.stagesStreamDelta)
            return delta[2 * nt + i];""")
edit(bkv, """        if (!grad.stagesStreamLse)
          lse2[2 * nt + i] = loadScaledLse(b, k, k.head, row);
        if (!grad.stagesStreamDelta)""", """        if (!grad.stagesStreamLse && !ablate("nostats"))
          lse2[2 * nt + i] = loadScaledLse(b, k, k.head, row);
        if (!grad.stagesStreamDelta && !ablate("nostats"))""")
edit(bkv, """      scoreGradWriter->write(b, dS, tile);
      SmallVector<SmallVector<Value>> done =
          mainloop->complete(b, {&dKNext, &dVNext}, 0);
      dK = done[0];
      dV = done[1];
      scoreGradWriter->release(b);""", """      if (!ablate("nostore"))
        scoreGradWriter->write(b, dS, tile);
      SmallVector<SmallVector<Value>> done =
          mainloop->complete(b, {&dKNext, &dVNext}, 0);
      dK = done[0];
      dV = done[1];
      if (!ablate("nostore"))
        scoreGradWriter->release(b);""")
edit("BackwardConfig.cpp", "  grad.keyRowMasks = grad.warpSpecialized || cfg.slots >= 2;",
     "  grad.keyRowMasks = grad.warpSpecialized || cfg.slots >= 2 || ablate(\"rowmasks\");")
include_hooks("BackwardConfig.cpp")
edit("BackwardTile.cpp", """  return maskedElementwise(
      b, k, pair, probs.size(),
      [&](ImplicitLocOpBuilder &ib, int64_t nt, int64_t r, int64_t i) {
        GpuArith ie{ib};
        return ie.fmul(element(ib, probs[nt], r, i),
                       ie.fsub(element(ib, dP[nt], r, i), delta(ib, nt, r, i)));
      });""", """  if (ablate("dspzero")) {
    Type f32 = b.getF32Type();
    SmallVector<Value> results;
    GpuArith ie{b};
    for (size_t nt = 0; nt < probs.size(); ++nt) {
      SmallVector<Value> elems;
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t i = 0; i < 2; ++i) {
          Value p = element(b, probs[nt], r, i);
          Value v = ie.fmul(p, ie.fsub(element(b, dP[nt], r, i),
                                       delta(b, nt, r, i)));
          Value zero = ie.f32(0.0);
          elems.push_back(ie.select(
              arith::CmpFOp::create(b, arith::CmpFPredicate::UNE, p, zero), v,
              zero));
        }
      results.push_back(make2x2(b, elems, f32));
    }
    return results;
  }
  return maskedElementwise(
      b, k, pair, probs.size(),
      [&](ImplicitLocOpBuilder &ib, int64_t nt, int64_t r, int64_t i) {
        GpuArith ie{ib};
        return ie.fmul(element(ib, probs[nt], r, i),
                       ie.fsub(element(ib, dP[nt], r, i), delta(ib, nt, r, i)));
      });""")
print("applied")
