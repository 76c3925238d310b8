//===- BackwardMainloopSm80.cpp - ldmatrix + mma.sync backward tiles ------===//
//
// The portable backward mainloop (sm_80+, f16/bf16): four padded tiles in
// dynamic shared memory (own D, own Dv, stream D, stream Dv; rows padded by
// 8 elements for conflict-free ldmatrix), filled by synchronous 16-byte
// copies between block barriers. A fragments of own x stream^T come from the
// own tile by ldmatrix.x4 for each 16 columns (not kept in registers: the
// dK and dV accumulators need them), B fragments from the stream tile by
// ldmatrix.x2; the accumulating product takes f32 tiles re-packed as A
// fragments and the stream tile through ldmatrix.x2.trans, as the forward's
// O += P V does.
//
//===----------------------------------------------------------------------===//

#include "BackwardMainloop.h"
#include "KernelSkeleton.h"
#include "MmaSync.h"
#include "TileCopies.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

class BackwardMainloopSm80 : public BackwardMainloop {
public:
  using BackwardMainloop::BackwardMainloop;

  void setupSharedMemory(ImplicitLocOpBuilder &b) override {
    GpuArith e{b};
    Value whole = dynamicSharedBytes(b, grad.sharedBytes());
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    int64_t offset = 0;
    auto view = [&](int64_t rows, int64_t width) {
      auto type = MemRefType::get({rows, grad.pitch(width)}, cfg.elementType,
                                  MemRefLayoutAttrInterface(), workgroup);
      Value tile =
          memref::ViewOp::create(b, type, whole, e.index(offset), ValueRange{});
      offset += rows * grad.pitch(width) * 2;
      return tile;
    };
    own[0] = view(grad.ownRows(), cfg.headDim);
    own[1] = view(grad.ownRows(), cfg.valueDim);
    stream[0] = view(grad.streamRows(), cfg.headDim);
    stream[1] = view(grad.streamRows(), cfg.valueDim);
  }

  void loadOwn(ImplicitLocOpBuilder &b, Value first, Value second, Value head,
               Value row0, int64_t limit) override {
    GpuArith e{b};
    copyTile(b, k, first, head, row0, grad.ownRows(), GpuArith{b}.index(limit),
             cfg.headDim, own[0], e.index(0));
    copyTile(b, k, second, head, row0, grad.ownRows(), GpuArith{b}.index(limit),
             cfg.valueDim, own[1], e.index(0));
    gpu::BarrierOp::create(b);
  }

  void loadStream(ImplicitLocOpBuilder &b, Value first, Value second,
                  Value head, Value row0, int64_t limit) override {
    GpuArith e{b};
    gpu::BarrierOp::create(b); // the previous stream tiles are read
    copyTile(b, k, first, head, row0, grad.streamRows(),
             GpuArith{b}.index(limit), cfg.headDim, stream[0], e.index(0));
    copyTile(b, k, second, head, row0, grad.streamRows(),
             GpuArith{b}.index(limit), cfg.valueDim, stream[1], e.index(0));
    gpu::BarrierOp::create(b);
  }

  SmallVector<Value> ownTimesStreamT(ImplicitLocOpBuilder &b,
                                     Operand which) override {
    GpuArith e{b};
    unsigned w = which == Operand::First ? 0 : 1;
    int64_t width = w == 0 ? cfg.headDim : cfg.valueDim;
    Value zeroAcc = zeroAccumulatorTile(b);
    SmallVector<Value> acc(grad.streamRows() / 8, zeroAcc);
    Value ownRow =
        e.add(e.mul(k.warp, e.index(16)), e.rem(k.lane, e.index(16)));
    Value aCol = e.mul(e.div(k.lane, e.index(16)), e.index(8));
    Value bCol =
        e.mul(e.rem(e.div(k.lane, e.index(8)), e.index(2)), e.index(8));
    for (int64_t ks = 0; ks < width / 16; ++ks) {
      Value aFrag = ldmatrix(b, cfg.elementType, own[w], ownRow,
                             e.add(e.index(ks * 16), aCol), 4, false);
      for (int64_t nt = 0; nt < grad.streamRows() / 8; ++nt) {
        Value streamRow = e.add(e.index(nt * 8), e.rem(k.lane, e.index(8)));
        Value bFrag = ldmatrix(b, cfg.elementType, stream[w], streamRow,
                               e.add(e.index(ks * 16), bCol), 2, false);
        acc[nt] = mmaSync(b, aFrag, bFrag, acc[nt]);
      }
    }
    return acc;
  }

  SmallVector<Value> accumulate(ImplicitLocOpBuilder &b, ArrayRef<Value> tiles,
                                Operand which,
                                SmallVector<Value> acc) override {
    GpuArith e{b};
    unsigned w = which == Operand::First ? 0 : 1;
    for (int64_t ks = 0; ks < grad.streamRows() / 16; ++ks) {
      Value aFrag =
          accumulatorsAsA(b, tiles[2 * ks], tiles[2 * ks + 1], cfg.elementType);
      Value streamRow = e.add(e.index(ks * 16), e.rem(k.lane, e.index(16)));
      for (int64_t dt = 0; dt < int64_t(acc.size()); ++dt) {
        Value bFrag = ldmatrix(b, cfg.elementType, stream[w], streamRow,
                               e.index(dt * 8), 2, true);
        acc[dt] = mmaSync(b, aFrag, bFrag, acc[dt]);
      }
    }
    return acc;
  }

private:
  Value own[2], stream[2];
};

} // namespace

std::unique_ptr<BackwardMainloop>
createBackwardMainloopSm80(BackwardContext &k) {
  return std::make_unique<BackwardMainloopSm80>(k);
}

} // namespace mlir::spa::gpu_kernel
