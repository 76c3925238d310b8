//===- TileCopies.cpp - global -> shared tile copies ----------------------===//

#include "TileCopies.h"
#include "AsyncBarriers.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

void copyTile(ImplicitLocOpBuilder &b, const KernelContext &k, Value source,
              Value sourceHead, Value rowStart, int64_t rows, Value limit,
              int64_t width, Value smem, Value smemRowBase) {
  GpuArith e{b};
  Type elementType = k.cfg.elementType;
  auto chunkType = VectorType::get({8}, elementType);
  int64_t chunksPerRow = width / 8;
  int64_t chunks = rows * chunksPerRow;
  Value tid = blockThread(b, k);
  Value zeros = arith::ConstantOp::create(
      b, DenseElementsAttr::get(chunkType, b.getZeroAttr(elementType)));
  int64_t threads = k.cfg.threads();
  for (int64_t it = 0; it * threads < chunks; ++it) {
    Value chunk = e.add(tid, e.index(it * threads));
    Value r = e.div(chunk, e.index(chunksPerRow));
    Value col = e.mul(e.rem(chunk, e.index(chunksPerRow)), e.index(8));
    Value globalRow = e.add(rowStart, r);
    // Rows past the tile (last round of a tile that does not divide by the
    // thread count) neither load nor store.
    Value inTile = e.cmp(P::slt, r, e.index(rows));
    Value inside = e.andi(inTile, e.cmp(P::slt, globalRow, limit));
    auto ifOp = scf::IfOp::create(
        b, inside,
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          Value v = vector::LoadOp::create(
              ib, chunkType, source,
              ValueRange{k.batchIdx, sourceHead, globalRow, col},
              /*nontemporal=*/false, llvm::MaybeAlign(16));
          scf::YieldOp::create(ib, v);
        },
        [&](OpBuilder &nb, Location l) { scf::YieldOp::create(nb, l, zeros); });
    Value smemRow = e.add(smemRowBase, r);
    if (chunks % threads == 0) {
      vector::StoreOp::create(b, ifOp.getResult(0), smem,
                              ValueRange{smemRow, col},
                              /*nontemporal=*/false, llvm::MaybeAlign(16));
    } else {
      Value chunkValue = ifOp.getResult(0);
      scf::IfOp::create(b, inTile, [&](OpBuilder &nb, Location l) {
        vector::StoreOp::create(nb, l, chunkValue, smem,
                                ValueRange{smemRow, col},
                                /*nontemporal=*/false, llvm::MaybeAlign(16));
        scf::YieldOp::create(nb, l);
      });
    }
  }
}

void copySwizzled(ImplicitLocOpBuilder &b, const KernelContext &k, Value source,
                  Value sourceHead, Value rowStart, int64_t rows, Value limit,
                  int64_t width, Value tile, Value stage) {
  GpuArith e{b};
  int64_t threads = k.cfg.threads();
  int64_t chunksPerRow = width / 8;
  int64_t chunks = rows * chunksPerRow;
  Value tid = blockThread(b, k);
  for (int64_t it = 0; it * threads < chunks; ++it) {
    Value chunk = e.add(tid, e.index(it * threads));
    Value r = e.div(chunk, e.index(chunksPerRow));
    Value column = e.rem(chunk, e.index(chunksPerRow));
    Value block = e.div(column, e.index(8));
    Value swizzled = arith::XOrIOp::create(b, e.rem(column, e.index(8)),
                                           e.rem(r, e.index(8)));
    Value globalRow = e.add(rowStart, r);
    Value valid = e.cmp(P::slt, globalRow, limit);
    // A zero-byte copy reads nothing; keep its address in bounds anyway.
    Value safeRow = e.select(valid, globalRow, e.index(0));
    Value srcElements = e.select(valid, e.index(8), e.index(0));
    SmallVector<Value> destination = {block, r, e.mul(swizzled, e.index(8))};
    if (stage)
      destination.insert(destination.begin(), stage);
    auto copy = [&](ImplicitLocOpBuilder &cb) {
      nvgpu::DeviceAsyncCopyOp::create(
          cb, nvgpu::DeviceAsyncTokenType::get(cb.getContext()), tile,
          destination, source,
          ValueRange{k.batchIdx, sourceHead, safeRow,
                     e.mul(column, e.index(8))},
          cb.getIndexAttr(8), srcElements, cb.getUnitAttr());
    };
    if ((it + 1) * threads <= chunks) {
      copy(b);
      continue;
    }
    // The last round of a tile that does not divide by the thread count:
    // threads past its end must not write (the next tile follows).
    emitIf(b, e.cmp(P::slt, chunk, e.index(chunks)),
           [&](ImplicitLocOpBuilder &ib) { copy(ib); });
  }
}

void waitForCopies(ImplicitLocOpBuilder &b, int32_t pending) {
  NVVM::CpAsyncWaitGroupOp::create(b, pending);
  fenceSharedForAsyncProxy(b);
  gpu::BarrierOp::create(b);
}

} // namespace mlir::spa::gpu_kernel
