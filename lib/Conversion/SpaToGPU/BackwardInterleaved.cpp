//===- BackwardInterleaved.cpp - dK/dV and dq_stored blocks, one launch ---===//
//
// interleaved-dq: the stored-dS backward's second and third launches as
// one. The dq_stored kernel is DRAM-bound on the dS tiles it reads back
// (151 MB at the headline shape, written by the dK/dV kernel a launch
// earlier and long gone from L2); here a dQ block runs shortly after the
// dK/dV blocks whose dS it reads, while the tiles may still be in L2, and
// beside dK/dV blocks that use the tensor cores more than memory.
//
//   block:  entry = claim (grad_sync[0]++, thread 0; InterleavedSync.h)
//           e = work[items + entry][0]        (the planned order)
//           e < dK/dV blocks:  the dK/dV kernel's block e, then the flag of
//                              its key tile (once its dS copies completed)
//           else:              the dq_stored kernel's block e - dK/dV
//                              blocks, its copy thread waiting for each key
//                              tile's flag before copying the tile's dS
//
// Both bodies are the kernels' own (BackwardBlockBody), on the dK/dV
// kernel's 128 threads and registers (both run one warpgroup), in shared
// memory sized for the larger (the dK/dV kernel's), plus the claim's i32.
// The order (spa/Planning/InterleavedWorkList.h) puts every dQ block after
// the dK/dV blocks it waits for, and blocks take entries in claim order, so
// the block a waiting block needs is already running: no deadlock, however
// the hardware schedules blocks.
//
//===----------------------------------------------------------------------===//

#include "BackwardKernels.h"
#include "InterleavedSync.h"
#include "KernelSkeleton.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

int64_t interleavedSharedBytes(const BackwardConfig &keyValueGrad,
                               const BackwardConfig &storedQueryGrad) {
  return claimSlotOffset(keyValueGrad, storedQueryGrad) + 16;
}

int64_t claimSlotOffset(const BackwardConfig &keyValueGrad,
                        const BackwardConfig &storedQueryGrad) {
  int64_t larger = std::max(keyValueGrad.sharedBytes(),
                            storedQueryGrad.storedQuerySharedBytes());
  return (larger + 15) / 16 * 16;
}

gpu::GPUFuncOp buildInterleavedGradKernel(
    OpBuilder &moduleBuilder, Location loc, StringRef name,
    ArrayRef<Type> argTypes, ArrayRef<std::string> names,
    const BackwardConfig &keyValueGrad, const BackwardConfig &storedQueryGrad,
    int64_t keyValueItems, int64_t queryItems, int64_t keyValueBlocks) {
  assert(keyValueGrad.blockThreads() == storedQueryGrad.blockThreads() &&
         "both bodies run the same block");
  std::unique_ptr<BackwardBlockBody> keyValue =
      createKeyValueGradBody(keyValueGrad);
  std::unique_ptr<BackwardBlockBody> query =
      createStoredQueryGradBody(storedQueryGrad);
  BackwardContext &kv = keyValue->context(), &dq = query->context();

  OpBuilder body(moduleBuilder.getContext());
  gpu::GPUFuncOp func =
      beginBackwardKernel(moduleBuilder, loc, name, argTypes, kv, body);
  dq.lane = kv.lane;
  dq.warp = kv.warp;
  dq.g = kv.g;
  dq.c = kv.c;
  ImplicitLocOpBuilder b(loc, body);
  GpuArith e{b};

  llvm::StringMap<Value> arg;
  for (auto [argName, value] : llvm::zip_equal(names, func.getArguments()))
    arg[argName] = value;
  // The two lists as views of the work table's rows.
  Value work = arg.lookup("work");
  auto rows = [&](int64_t first, int64_t count) -> Value {
    return memref::SubViewOp::create(
        b, work,
        ArrayRef<OpFoldResult>{b.getIndexAttr(first), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(count), b.getIndexAttr(3)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  };
  auto bind = [&](BackwardBlockBody &target, ArrayRef<StringRef> wanted,
                  Value list) {
    SmallVector<Value> values;
    for (StringRef argName : wanted) {
      if (argName == "work") {
        values.push_back(list);
        continue;
      }
      Value value = arg.lookup(argName);
      if (value)
        values.push_back(value);
    }
    target.bindArgs(values);
  };
  // Each kernel's own argument order; names the launch does not have
  // (the optional ones) are skipped.
  bind(*keyValue,
       {"query", "key", "value", "log_sum_exp", "output_grad", "delta",
        "key_grad", "value_grad", "score_grad", "score_grad_slots", "bounds",
        "work", "key_map", "value_map", "query_map", "output_grad_map",
        "key_grad_map", "value_grad_map"},
       rows(0, keyValueItems));
  bind(*query,
       {"key", "score_grad", "query_grad", "score_grad_slots", "bounds", "work",
        "key_map", "query_grad_map"},
       rows(keyValueItems, queryItems));
  kv.gradSync = dq.gradSync = arg.lookup("grad_sync");
  assert(kv.gradSync && "the interleaved kernel takes grad_sync");

  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value slot = memref::ViewOp::create(
      b,
      MemRefType::get({1}, b.getI32Type(), MemRefLayoutAttrInterface(),
                      workgroup),
      dynamicSharedBytes(b,
                         interleavedSharedBytes(keyValueGrad, storedQueryGrad)),
      e.index(claimSlotOffset(keyValueGrad, storedQueryGrad)), ValueRange{});
  Value entry = claimBlockEntry(b, kv, slot);
  Value block = arith::IndexCastOp::create(
      b, b.getIndexType(),
      memref::LoadOp::create(
          b, work,
          ValueRange{e.add(entry, e.index(keyValueItems + queryItems)),
                     e.index(0)}));
  Value isKeyValue =
      e.cmp(arith::CmpIPredicate::slt, block, e.index(keyValueBlocks));
  scf::IfOp::create(
      b, isKeyValue,
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder tb(l, nb);
        kv.blockItem = block;
        keyValue->emit(tb);
        scf::YieldOp::create(tb);
      },
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder eb(l, nb);
        dq.blockItem =
            GpuArith{eb}.sub(block, GpuArith{eb}.index(keyValueBlocks));
        query->emit(eb);
        scf::YieldOp::create(eb);
      });
  gpu::ReturnOp::create(b);
  return func;
}

} // namespace mlir::spa::gpu_kernel
