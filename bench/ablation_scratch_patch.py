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
import pathlib, sys
root = pathlib.Path(sys.argv[1]) / "lib/Conversion/SpaToGPU"
def edit(name, old, new, count=1):
    p = root / name
    s = p.read_text()
    assert s.count(old) == count, (name, old, s.count(old))
    p.write_text(s.replace(old, new))
(root / "AblationScratch.h").write_text('''// SCRATCH (branch ablate-scratch, never merged): SPA_ABLATE=a,b,... removes
// parts of the generated kernels for timing ablations; outputs are wrong.
#ifndef SPA_ABLATION_SCRATCH_H
#define SPA_ABLATION_SCRATCH_H
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
} // namespace mlir::spa::gpu_kernel
#endif
''')
inc = '#include "EdgeMask.h"\n'
edit("BackwardTile.cpp", inc, inc + '#include "AblationScratch.h"\n')
edit("BackwardTile.cpp", "  auto ifOp = scf::IfOp::create(\n      b, pair.interior,",
     "  Value interiorCond = ablate(\"nomask\")\n      ? arith::ConstantIntOp::create(b, b.getI1Type(), 1).getResult()\n      : pair.interior;\n  auto ifOp = scf::IfOp::create(\n      b, interiorCond,")
s = (root / "Softmax.cpp").read_text()
first_inc = s.index("#include")
(root / "Softmax.cpp").write_text(s[:first_inc] + '#include "AblationScratch.h"\n' + s[first_inc:])
edit("Softmax.cpp", "  Value interior = e.andi(allKeys, inside);",
     "  Value interior = ablate(\"nomask\")\n      ? arith::ConstantIntOp::create(b, b.getI1Type(), 1).getResult()\n      : e.andi(allKeys, inside);")
# noepi: forward epilogue under a run-time-false condition.
edit("KernelSkeleton.cpp", '#include "Epilogue.h"\n', '#include "Epilogue.h"\n#include "AblationScratch.h"\n')
edit("KernelSkeleton.cpp", """    if (k.cfg.splitKeys > 1)
      emitPartialEpilogue(b, k, state);
    else
      emitEpilogue(b, k, state, mainloop->epilogueStaging());""",
"""    if (k.cfg.splitKeys > 1)
      emitPartialEpilogue(b, k, state);
    else if (ablate("noepi")) {
      GpuArith e{b};
      scf::IfOp::create(b, e.cmp(arith::CmpIPredicate::eq, k.batchIdx,
                                 e.index(987654)),
                        [&](OpBuilder &nb, Location l) {
                          ImplicitLocOpBuilder ib(l, nb);
                          emitEpilogue(ib, k, state,
                                       mainloop->epilogueStaging());
                          scf::YieldOp::create(ib);
                        });
    } else
      emitEpilogue(b, k, state, mainloop->epilogueStaging());""")
bkv = "BackwardKeyValue.cpp"
s = (root / bkv).read_text()
first_inc = s.index("#include")
(root / bkv).write_text(s[:first_inc] + '#include "AblationScratch.h"\n' + s[first_inc:])
edit(bkv, "    storeKeyValueGrads(b, j0, results);\n  }",
"""    if (ablate("noepi")) {
      GpuArith e{b};
      scf::IfOp::create(b, e.cmp(arith::CmpIPredicate::eq, k.batchIdx,
                                 e.index(987654)),
                        [&](OpBuilder &nb, Location l) {
                          ImplicitLocOpBuilder ib(l, nb);
                          storeKeyValueGrads(ib, j0, results);
                          scf::YieldOp::create(ib);
                        });
    } else
      storeKeyValueGrads(b, j0, results);
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
s = (root / "BackwardConfig.cpp").read_text()
first_inc = s.index("#include")
(root / "BackwardConfig.cpp").write_text(s[:first_inc] + '#include "AblationScratch.h"\n' + s[first_inc:])
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
