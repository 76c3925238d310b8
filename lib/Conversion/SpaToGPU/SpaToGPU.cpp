//===- SpaToGPU.cpp - spa.attention -> tensor-core gpu.func ---------------===//
//
// Generates a FlashAttention-2 style forward kernel for one spa.attention
// (memref form, static shapes, f16/bf16) and replaces the op with a
// gpu.launch_func of it. Everything is expressed with upstream gpu, nvgpu,
// vector, scf and arith ops; the NVVM lowering and gpu-module-to-binary turn
// it into an sm_90a cubin.
//
// Kernel shape: one block of `warps` warps (default 4) per work item
// (batch, head, query tile of 16 * warps rows); each warp owns 16 query rows;
// key tiles of `tile-k` keys (default 64). Work items are launched in the
// order of a work list sorted by the cost model (heaviest first). For every
// interval of the head (and side, in bidirectional mode) the key tiles of 64
// keys reached by the tile's rows are visited; nothing else is loaded.
//
//   Q tile -> shared -> ldmatrix -> registers (A fragments, kept)
//   per key tile: K, V -> shared (16-byte vector copies, zero-filled past Nk)
//     S = Q K^T      nvgpu.mma.sync m16n8k16, K via ldmatrix
//     mask only when the tile is not entirely inside [lo, hi)
//     online softmax in f32 with exp2, row max over the quad by shuffles
//     O += P V       P re-packed from the S accumulators as A fragments,
//                    V via ldmatrix.trans
//   O / l -> global; log-sum-exp (natural log) for training
//
// Fragment layouts are PTX's for mma.m16n8k16: lane = 4 g + c holds rows g
// and g + 8 and columns 2c, 2c + 1 of each 8-column accumulator tile.
//
//===----------------------------------------------------------------------===//

#include "spa/Conversion/SpaToGPU/SpaToGPU.h"
#include "spa/Conversion/Utils/IndexArith.h"
#include "spa/Dialect/Spa/IR/PlanInterop.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Planning/BandPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/Support/Regex.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace mlir::spa {
#define GEN_PASS_DEF_CONVERTSPATOGPU
#include "spa/Conversion/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;
using namespace mlir::spa;
namespace plan = ::spa::plan;

namespace {

constexpr int64_t kPad = 8; // smem row padding: conflict-free ldmatrix
constexpr const char *kDynamicSharedName = "spa_dynamic_shared";
constexpr int64_t kMaxDynamicShared = 227 * 1024; // H100 per block
constexpr int64_t kSharedPerSM = 228 * 1024;      // H100 per SM

/// Everything fixed at compile time for one op.
struct KernelConfig {
  Type elementType;
  int64_t batch, numQueryHeads, numKvHeads, queryLen, keyLen, headDim,
      valueDim, slots;
  bool bidirectional, withLse;
  double scaleLog2;
  int64_t warps = 4;  // each warp owns 16 query rows
  int64_t tileK = 64; // keys per key tile
  // Hopper path: one warpgroup per 64 query rows, wgmma from swizzled tiles
  // in dynamic shared memory (see wgmmaScores / wgmmaValues).
  bool wgmma = false;
  bool tf32() const { return elementType.isF32(); } // f32 inputs
  // wgmma: K/V tile buffers. 1: one K and one V buffer, the next K copy
  // overlapping softmax and P V, the next V copy overlapping Q K^T. n > 1: a
  // ring; tile t + n - 1 is copied while tile t is computed.
  int64_t stages = 1;
  int64_t tileBytes(int64_t rows, int64_t width) const {
    assert(!elementType.isF32() && "wgmma tiles are f16/bf16");
    return rows * width * 2;
  }
  int64_t threads() const { return 32 * warps; }
  int64_t tileQ() const { return 16 * warps; }
  int64_t sharedRows() const { return std::max(tileQ(), 2 * tileK); }
  int64_t sharedBytes() const {
    if (wgmma) // Q, K and V tiles, no padding (swizzled instead)
      return tileBytes(tileQ(), headDim) +
             stages * (tileBytes(tileK, headDim) + tileBytes(tileK, valueDim));
    return sharedRows() * (std::max(headDim, valueDim) + kPad) *
           (elementType.isF32() ? 4 : 2);
  }
};

/// IndexArith plus the float and warp operations of the kernel.
struct Builder : IndexArith {
  using IndexArith::IndexArith;
  Value fmax(Value x, Value y) { return arith::MaximumFOp::create(b, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  // One PTX instruction each: math.exp2 would become a libdevice call whose
  // resolution depends on finding a CUDA toolkit at compile time. ex2.approx
  // maps -inf to +0, which the masked softmax relies on.
  Value exp2(Value x) { return approx(b, "ex2.approx.ftz.f32 $0, $1;", x); }
  static Value approx(ImplicitLocOpBuilder &b, StringRef ptx, Value x) {
    return NVVM::InlinePtxOp::create(b, TypeRange{b.getF32Type()},
                                     ValueRange{x}, ValueRange{}, ptx,
                                     Value())
        .getResult(0);
  }
  Value shuffleXor(Value v, int32_t offset) {
    return gpu::ShuffleOp::create(b, v, offset, 32, gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  Value toIndex(Value i32) {
    return arith::IndexCastOp::create(b, b.getIndexType(), i32);
  }
};

using P = arith::CmpIPredicate;

/// 2x2 f32 accumulator helpers: element (r, i) = row g + 8r, column 2c + i.
Value element(ImplicitLocOpBuilder &b, Value v, int64_t r, int64_t i) {
  return vector::ExtractOp::create(b, v, ArrayRef<int64_t>{r, i});
}
Value make2x2(ImplicitLocOpBuilder &b, ArrayRef<Value> values, Type type) {
  return vector::FromElementsOp::create(b, VectorType::get({2, 2}, type),
                                        values);
}

/// acc += a * b by nvvm.mma.sync m16n8k{k}: A as four and B as two i32
/// words in PTX's fragment layouts, C/D as the 2x2 f32 tile.
Value mmaWords(ImplicitLocOpBuilder &b, ArrayRef<Value> a, ArrayRef<Value> bFrag,
               Value acc, int64_t k, NVVM::MMATypes type) {
  SmallVector<Value> cValues;
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < 2; ++i)
      cValues.push_back(element(b, acc, r, i));
  Type f32 = b.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                     {f32, f32, f32, f32});
  Value result = NVVM::MmaOp::create(
      b, resultType, a, bFrag, cValues, ArrayRef<int64_t>{16, 8, k},
      std::nullopt, std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> parts;
  for (int64_t i = 0; i < 4; ++i)
    parts.push_back(LLVM::ExtractValueOp::create(b, result, i));
  return make2x2(b, parts, f32);
}

/// acc += a * b on tensor cores (m16n8k16). f16 goes through nvgpu; MLIR
/// 22's nvgpu lowering cannot type bf16 operands, so bf16 calls nvvm.mma.sync
/// with the fragments repacked as i32 pairs (docs/gpu-toolchain.md).
Value mmaSync(ImplicitLocOpBuilder &b, Value a, Value bFrag, Value acc) {
  Type elt = cast<VectorType>(a.getType()).getElementType();
  if (elt.isF16())
    return nvgpu::MmaSyncOp::create(b, a, bFrag, acc,
                                    ArrayRef<int64_t>{16, 8, 16});
  Type i32 = b.getI32Type();
  auto packRows = [&](Value fragment, int64_t rows) {
    SmallVector<Value> words;
    for (int64_t r = 0; r < rows; ++r) {
      Value pair = vector::ExtractOp::create(b, fragment, ArrayRef<int64_t>{r});
      Value word = vector::BitCastOp::create(
          b, VectorType::get({1}, i32), pair);
      words.push_back(vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0}));
    }
    return words;
  };
  return mmaWords(b, packRows(a, 4), packRows(bFrag, 2), acc, 16,
                  NVVM::MMATypes::bf16);
}

/// acc += a * b on tensor cores in tf32 (m16n8k8): f32 inputs. `a` holds
/// four and `b` two f32 bit patterns as i32; the tensor cores read the upper
/// 19 bits (tf32 precision, relative error about 2^-11 per operand).
Value mmaSyncTf32(ImplicitLocOpBuilder &b, ArrayRef<Value> a,
                  ArrayRef<Value> bFrag, Value acc) {
  return mmaWords(b, a, bFrag, acc, 8, NVVM::MMATypes::tf32);
}

class KernelBuilder {
public:
  KernelBuilder(const KernelConfig &config) : cfg(config) {}

  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, Location loc,
                       StringRef name, ArrayRef<Type> argTypes) {
    MLIRContext *ctx = moduleBuilder.getContext();
    auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    auto tileType = [&](int64_t rows, int64_t width) {
      return MemRefType::get({rows, width + kPad}, cfg.elementType,
                             MemRefLayoutAttrInterface(), workgroup);
    };
    // mma.sync: one shared buffer, rows [0, tileK) hold K, rows
    // [tileK, 2 tileK) V; the Q tile is staged across both before the key
    // loop starts. wgmma: Q, K and V tiles in the 128-byte swizzled layout
    // wgmma descriptors read: [width / 64][rows][64] (see copySwizzled).
    SmallVector<Type> shared;
    if (!cfg.wgmma) // wgmma tiles are views of dynamic shared memory
      shared = {tileType(cfg.sharedRows(),
                         std::max(cfg.headDim, cfg.valueDim))};
    auto fnType = FunctionType::get(ctx, argTypes, {});
    auto func = gpu::GPUFuncOp::create(moduleBuilder, loc, name, fnType,
                                       shared);
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                  UnitAttr::get(ctx));
    // ldmatrix and 16-byte vector stores need aligned shared buffers; the
    // 128-byte swizzle pattern repeats every 1024 bytes, and wgmma
    // descriptors assume tiles start on that boundary.
    for (unsigned i = 0; i < shared.size(); ++i)
      func.setWorkgroupAttributionAttr(
          i, "llvm.align",
          moduleBuilder.getI64IntegerAttr(cfg.wgmma ? 1024 : 128));
    func.setKnownBlockSizeAttr(
        DenseI32ArrayAttr::get(ctx, {int32_t(cfg.threads()), 1, 1}));
    Block &entry = func.getBody().front();
    OpBuilder ob = OpBuilder::atBlockBegin(&entry);
    ImplicitLocOpBuilder b(loc, ob);
    emitBody(b, func);
    gpu::ReturnOp::create(b);
    return func;
  }

private:
  KernelConfig cfg;
  // Kernel-wide values.
  Value query, key, value, out, lse, bounds, work;
  Value smem;      // [sharedRows][max(D, Dv) + pad]
  Value qTile;                    // wgmma: swizzled [width / 64][rows][64]
  Value kTile, vTile;             // wgmma: [stages][width / 64][rows][64]
  Value qDesc, kDesc, vDesc;      // wgmma: i64 matrix descriptors
  Value vRowBase;  // first row of the V tile in `smem`
  Value lane, warp, g, c;
  Value batchIdx, head, kvHead, i0;
  Value firstPos, lastPos;
  SmallVector<Value> queryFragments; // f32: 4 i32 per 8 columns, flat

  void emitBody(ImplicitLocOpBuilder &b, gpu::GPUFuncOp func) {
    Builder e{b};
    auto args = func.getArguments();
    query = args[0];
    key = args[1];
    value = args[2];
    out = args[3];
    unsigned next = 4;
    if (cfg.withLse)
      lse = args[next++];
    bounds = args[next++];
    work = args[next++];
    if (cfg.wgmma) {
      // Dynamic shared memory (more than the 48 KiB static limit), declared
      // as an external workgroup global: gpu.dynamic_shared_memory lowers
      // to a 1-byte static variable in MLIR 22 (docs/gpu-toolchain.md).
      auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                  gpu::AddressSpace::Workgroup);
      Type i8 = b.getI8Type();
      Value raw = memref::GetGlobalOp::create(
          b, MemRefType::get({0}, i8, MemRefLayoutAttrInterface(), workgroup),
          kDynamicSharedName);
      auto wholeType = MemRefType::get({cfg.sharedBytes()}, i8,
                                       MemRefLayoutAttrInterface(), workgroup);
      Value whole = memref::ReinterpretCastOp::create(
          b, wholeType, raw, int64_t(0), ArrayRef<int64_t>{cfg.sharedBytes()},
          ArrayRef<int64_t>{1});
      int64_t offset = 0;
      auto view = [&](ArrayRef<int64_t> stages, int64_t rows, int64_t width) {
        SmallVector<int64_t> shape(stages);
        shape.append({width / 64, rows, 64});
        auto type = MemRefType::get(shape, cfg.elementType,
                                    MemRefLayoutAttrInterface(), workgroup);
        Value tile = memref::ViewOp::create(b, type, whole, e.index(offset),
                                            ValueRange{});
        offset += cfg.tileBytes(rows, width) * (stages.empty() ? 1 : stages[0]);
        return tile;
      };
      qTile = view({}, cfg.tileQ(), cfg.headDim);
      kTile = view({cfg.stages}, cfg.tileK, cfg.headDim);
      vTile = view({cfg.stages}, cfg.tileK, cfg.valueDim);
    } else {
      smem = func.getWorkgroupAttributions()[0];
    }

    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    lane = e.rem(tid, e.index(32));
    warp = e.div(tid, e.index(32));
    g = e.div(lane, e.index(4));
    c = e.rem(lane, e.index(4));

    // Work item from the cost-sorted list: (batch, head, query tile).
    Value item = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    auto workAt = [&](int64_t field) {
      return e.toIndex(memref::LoadOp::create(
          b, work, ValueRange{item, e.index(field)}));
    };
    batchIdx = workAt(0);
    head = workAt(1);
    i0 = e.mul(workAt(2), e.index(cfg.tileQ()));
    kvHead = e.div(head, e.index(cfg.numQueryHeads / cfg.numKvHeads));
    firstPos = e.add(i0, e.index(cfg.keyLen - cfg.queryLen));
    lastPos = e.add(firstPos, e.index(cfg.tileQ() - 1));

    if (cfg.wgmma) {
      // Q stays in shared memory (wgmma reads A through a descriptor); its
      // copies join the first key range's K group.
      // Warpgroup w multiplies query rows [64 w, 64 w + 64).
      Value warpgroup = arith::IndexCastOp::create(
          b, b.getI64Type(), e.div(warp, e.index(4)));
      qDesc = arith::AddIOp::create(
          b, descriptor(b, qTile, cfg.tileQ()),
          arith::MulIOp::create(b, warpgroup, i64(b, (64 * 128) >> 4)));
      kDesc = descriptor(b, kTile, cfg.tileK);
      vDesc = descriptor(b, vTile, cfg.tileK);
      copySwizzled(b, query, head, i0, cfg.tileQ(), cfg.queryLen, cfg.headDim,
                   qTile);
    } else {
      // Q tile -> shared -> A fragments in registers for the whole item.
      vRowBase = e.index(cfg.tileK);
      copyTile(b, query, head, i0, cfg.tileQ(), cfg.queryLen, cfg.headDim,
               smem, e.index(0));
      gpu::BarrierOp::create(b);
      Value row = e.add(e.mul(warp, e.index(16)), e.rem(lane, e.index(16)));
      if (cfg.tf32()) {
        // tf32 A fragments (rows g, g + 8; columns c, c + 4 of each 8).
        for (int64_t ks = 0; ks < cfg.headDim / 8; ++ks)
          for (int64_t half : {0, 4})
            for (int64_t r : {0, 8})
              queryFragments.push_back(sharedWord(
                  b, e.add(e.add(e.mul(warp, e.index(16)), g), e.index(r)),
                  e.add(e.index(ks * 8 + half), c)));
      } else {
        for (int64_t ks = 0; ks < cfg.headDim / 16; ++ks) {
          Value col = e.add(e.index(ks * 16),
                            e.mul(e.div(lane, e.index(16)), e.index(8)));
          queryFragments.push_back(ldmatrix(b, smem, row, col, 4, false));
        }
      }
    }

    // Loop-carried state: m (2 rows), l (2 rows), O (Dv / 8 tiles).
    SmallVector<Value> state = {e.f32(-INFINITY), e.f32(-INFINITY),
                                e.f32(0.0), e.f32(0.0)};
    Value zeroAcc = arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({2, 2}, b.getF32Type()),
                                  0.0f));
    for (int64_t t = 0; t < cfg.valueDim / 8; ++t)
      state.push_back(zeroAcc);

    // Key ranges of the item: each interval (and side) of the head.
    struct KeyRange {
      Value lo, hi, begin, end;
      int side;
    };
    SmallVector<KeyRange> ranges;
    for (int64_t slot = 0; slot < cfg.slots; ++slot) {
      Value lo = e.toIndex(memref::LoadOp::create(
          b, bounds, ValueRange{head, e.index(slot), e.index(0)}));
      Value hi = e.toIndex(memref::LoadOp::create(
          b, bounds, ValueRange{head, e.index(slot), e.index(1)}));
      for (int side : {1, -1}) {
        if (side < 0 && !cfg.bidirectional)
          break;
        Value sideLo = side > 0 ? lo : e.max(lo, e.index(1));
        auto [begin, end] = keyRange(b, sideLo, hi, side);
        ranges.push_back({sideLo, hi, begin, end, side});
      }
    }
    // wgmma, stages = 1: the tile after the last of a range is the first
    // of the next non-empty range, so its copies overlap the current tile
    // like any other (follow[r] = (exists, first key)). The other schedules
    // start each range on its own.
    bool chained = cfg.wgmma && cfg.stages == 1;
    SmallVector<std::pair<Value, Value>> follow(ranges.size());
    if (chained) {
      Value none = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
      follow.back() = {none, e.index(0)};
      for (int64_t r = ranges.size() - 2; r >= 0; --r) {
        const KeyRange &n = ranges[r + 1];
        Value nonEmpty = e.cmp(P::slt, n.begin, n.end);
        follow[r] = {e.ori(nonEmpty, follow[r + 1].first),
                     e.select(nonEmpty, n.begin, follow[r + 1].second)};
      }
      // Prologue: the first tile of the first non-empty range, one copy
      // group for K (with Q) and one for V; every tile keeps this shape.
      Value nonEmpty = e.cmp(P::slt, ranges[0].begin, ranges[0].end);
      Value any = e.ori(nonEmpty, follow[0].first);
      Value first = e.select(nonEmpty, ranges[0].begin, follow[0].second);
      prefetch(b, any, first, Value(), Copy::Key);
      prefetch(b, any, first, Value(), Copy::Value);
    }
    for (auto [r, range] : llvm::enumerate(ranges)) {
      if (cfg.wgmma && cfg.stages > 1) {
        // Ring prologue: tiles 0 .. stages - 2 of the range, one group
        // each (K and V together) into buffers 0 .. stages - 2.
        for (int64_t t = 0; t + 1 < cfg.stages; ++t) {
          Value j0 = e.add(range.begin, e.index(t * cfg.tileK));
          prefetch(b, e.cmp(P::slt, j0, range.end), j0, e.index(t),
                   Copy::Both);
        }
      }
      auto loop = scf::ForOp::create(
          b, range.begin, range.end, e.index(cfg.tileK), state,
          [&](OpBuilder &nb, Location nloc, Value j0, ValueRange carried) {
            ImplicitLocOpBuilder ib(nloc, nb);
            SmallVector<Value> updated =
                keyTile(ib, j0, range.lo, range.hi, range.side, range.begin,
                        range.end, follow[r], carried);
            scf::YieldOp::create(ib, updated);
          });
      state.assign(loop.getResults().begin(), loop.getResults().end());
    }
    if (cfg.wgmma) // the Q copies of an item whose key ranges are all empty
      NVVM::CpAsyncWaitGroupOp::create(b, 0);
    epilogue(b, state);
  }

  /// Key range [begin, end) reached by the tile's rows through [lo, hi).
  std::pair<Value, Value> keyRange(ImplicitLocOpBuilder &b, Value lo, Value hi,
                                   int side) {
    Builder e{b};
    Value begin, end;
    if (side > 0) {
      begin = e.max(e.index(0), e.add(e.sub(firstPos, hi), e.index(1)));
      end = e.min(e.index(cfg.keyLen), e.add(e.sub(lastPos, lo), e.index(1)));
    } else {
      begin = e.max(e.index(0), e.add(firstPos, lo));
      end = e.min(e.index(cfg.keyLen), e.add(lastPos, hi));
    }
    Value nonEmpty = e.cmp(P::slt, lo, hi);
    return {begin, e.select(nonEmpty, end, begin)};
  }

  Value ldmatrix(ImplicitLocOpBuilder &b, Value smem, Value row, Value col,
                 int64_t tiles, bool transpose) {
    auto type = VectorType::get({tiles, 2}, cfg.elementType);
    return nvgpu::LdMatrixOp::create(b, type, smem, ValueRange{row, col},
                                     b.getBoolAttr(transpose),
                                     b.getI32IntegerAttr(tiles));
  }

  /// Copies rows [rowStart, rowStart + rows) of (batch, head) of `source`
  /// into `smem` with 16-byte vectors; rows past `limit` become zeros.
  void copyTile(ImplicitLocOpBuilder &b, Value source, Value sourceHead,
                Value rowStart, int64_t rows, int64_t limit, int64_t width,
                Value smem, Value smemRowBase) {
    Builder e{b};
    auto chunkType = VectorType::get({8}, cfg.elementType);
    int64_t chunksPerRow = width / 8;
    int64_t chunks = rows * chunksPerRow;
    Value tid = e.add(e.mul(warp, e.index(32)), lane);
    Value zeros = arith::ConstantOp::create(
        b, DenseElementsAttr::get(chunkType, b.getZeroAttr(cfg.elementType)));
    int64_t threads = cfg.threads();
    for (int64_t it = 0; it * threads < chunks; ++it) {
      Value chunk = e.add(tid, e.index(it * threads));
      Value r = e.div(chunk, e.index(chunksPerRow));
      Value col = e.mul(e.rem(chunk, e.index(chunksPerRow)), e.index(8));
      Value globalRow = e.add(rowStart, r);
      // Rows past the tile (last round of a tile that does not divide by
      // the thread count) neither load nor store.
      Value inTile = e.cmp(P::slt, r, e.index(rows));
      Value inside =
          e.andi(inTile, e.cmp(P::slt, globalRow, e.index(limit)));
      auto ifOp = scf::IfOp::create(
          b, inside,
          [&](OpBuilder &nb, Location l) {
            ImplicitLocOpBuilder ib(l, nb);
            Value v = vector::LoadOp::create(
                ib, chunkType, source,
                ValueRange{batchIdx, sourceHead, globalRow, col},
                /*nontemporal=*/false, llvm::MaybeAlign(16));
            scf::YieldOp::create(ib, v);
          },
          [&](OpBuilder &nb, Location l) {
            scf::YieldOp::create(nb, l, zeros);
          });
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

  /// smem[row][col] of the f32 tile as an i32 (a tf32 operand).
  Value sharedWord(ImplicitLocOpBuilder &b, Value row, Value col) {
    Value v = memref::LoadOp::create(b, smem, ValueRange{row, col});
    return arith::BitcastOp::create(b, b.getI32Type(), v);
  }

  /// S = Q K^T on mma.sync: tileK / 8 accumulator tiles of 16 x 8 per warp.
  SmallVector<Value> mmaSyncScores(ImplicitLocOpBuilder &b) {
    Builder e{b};
    Value zeroAcc = arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({2, 2}, b.getF32Type()),
                                  0.0f));
    SmallVector<Value> scores;
    for (int64_t nt = 0; nt < cfg.tileK / 8; ++nt) {
      Value acc = zeroAcc;
      if (cfg.tf32()) {
        // B = K^T (k8 x n8, column-major): lane (g, c) holds K[key g][c]
        // and K[key g][c + 4] of each 8 columns.
        Value keyRow = e.add(e.index(nt * 8), g);
        for (int64_t ks = 0; ks < cfg.headDim / 8; ++ks) {
          Value col = e.add(e.index(ks * 8), c);
          SmallVector<Value> bFrag = {
              sharedWord(b, keyRow, col),
              sharedWord(b, keyRow, e.add(col, e.index(4)))};
          acc = mmaSyncTf32(b,
                            ArrayRef<Value>(queryFragments).slice(4 * ks, 4),
                            bFrag, acc);
        }
      } else {
        Value keyRow = e.add(e.index(nt * 8), e.rem(lane, e.index(8)));
        for (int64_t ks = 0; ks < cfg.headDim / 16; ++ks) {
          Value col = e.add(e.index(ks * 16),
                            e.mul(e.rem(e.div(lane, e.index(8)), e.index(2)),
                                  e.index(8)));
          Value bFrag = ldmatrix(b, smem, keyRow, col, 2, false);
          acc = mmaSync(b, queryFragments[ks], bFrag, acc);
        }
      }
      scores.push_back(acc);
    }
    return scores;
  }

  //===--------------------------------------------------------------------===//
  // Hopper (wgmma) path
  //
  // Tiles live in shared memory in the layout a TMA copy with 128-byte
  // swizzling would produce: the tile is split into blocks of 64 columns
  // (128 bytes of f16/bf16 per row), and in row r the 16-byte chunk c of a
  // block is stored at chunk c ^ (r % 8). A wgmma matrix descriptor
  // describes such a block by its start address, the stride between 8-row
  // groups (SBO = 1024 bytes) and the stride between 64-column blocks
  // (LBO = rows * 128 bytes), with swizzle mode 1 (128 B).
  //===--------------------------------------------------------------------===//

  Value i64(ImplicitLocOpBuilder &b, int64_t v) {
    return arith::ConstantIntOp::create(b, b.getI64Type(), v);
  }

  /// Descriptor of the first 64-column block of a swizzled tile.
  Value descriptor(ImplicitLocOpBuilder &b, Value tile, int64_t rows) {
    Value address = arith::IndexCastOp::create(
        b, b.getI64Type(),
        memref::ExtractAlignedPointerAsIndexOp::create(b, tile));
    Value start = arith::AndIOp::create(
        b, arith::ShRUIOp::create(b, address, i64(b, 4)), i64(b, 0x3FFF));
    uint64_t fixed = (uint64_t((rows * 128) >> 4) << 16) |
                     (uint64_t(1024 >> 4) << 32) | (uint64_t(1) << 62);
    return arith::OrIOp::create(b, start, i64(b, int64_t(fixed)));
  }
  /// Descriptor of ring buffer `stage` of a K or V tile `width` wide.
  Value stageDescriptor(ImplicitLocOpBuilder &b, Value desc, Value stage,
                        int64_t width) {
    if (cfg.stages == 1)
      return desc;
    Value offset = arith::MulIOp::create(
        b, arith::IndexCastOp::create(b, b.getI64Type(), stage),
        i64(b, cfg.tileBytes(cfg.tileK, width) >> 4));
    return arith::AddIOp::create(b, desc, offset);
  }
  /// `desc` advanced by `bytes` (a multiple of 16 inside the tile).
  Value advance(ImplicitLocOpBuilder &b, Value desc, int64_t bytes) {
    return bytes ? arith::AddIOp::create(b, desc, i64(b, bytes >> 4)) : desc;
  }

  /// cp.async copies of rows [rowStart, rowStart + rows) of (batch,
  /// `sourceHead`) into the swizzled `tile` (buffer `stage` of a ring); rows
  /// at or past `limit` are zero-filled without reading memory.
  void copySwizzled(ImplicitLocOpBuilder &b, Value source, Value sourceHead,
                    Value rowStart, int64_t rows, int64_t limit, int64_t width,
                    Value tile, Value stage = Value()) {
    Builder e{b};
    int64_t chunksPerRow = width / 8;
    int64_t chunks = rows * chunksPerRow;
    Value tid = e.add(e.mul(warp, e.index(32)), lane);
    for (int64_t it = 0; it * cfg.threads() < chunks; ++it) {
      Value chunk = e.add(tid, e.index(it * cfg.threads()));
      Value r = e.div(chunk, e.index(chunksPerRow));
      Value column = e.rem(chunk, e.index(chunksPerRow));
      Value block = e.div(column, e.index(8));
      Value swizzled = arith::XOrIOp::create(b, e.rem(column, e.index(8)),
                                             e.rem(r, e.index(8)));
      Value globalRow = e.add(rowStart, r);
      Value valid = e.cmp(P::slt, globalRow, e.index(limit));
      // A zero-byte copy reads nothing; keep its address in bounds anyway.
      Value safeRow = e.select(valid, globalRow, e.index(0));
      Value srcElements = e.select(valid, e.index(8), e.index(0));
      SmallVector<Value> destination = {block, r,
                                        e.mul(swizzled, e.index(8))};
      if (stage)
        destination.insert(destination.begin(), stage);
      auto copy = [&](ImplicitLocOpBuilder &cb) {
        nvgpu::DeviceAsyncCopyOp::create(
            cb, nvgpu::DeviceAsyncTokenType::get(cb.getContext()), tile,
            destination, source,
            ValueRange{batchIdx, sourceHead, safeRow,
                       e.mul(column, e.index(8))},
            cb.getIndexAttr(8), srcElements, cb.getUnitAttr());
      };
      if ((it + 1) * cfg.threads() <= chunks) {
        copy(b);
        continue;
      }
      // The last round of a tile that does not divide by the thread count:
      // threads past its end must not write (the next tile follows).
      scf::IfOp::create(b, e.cmp(P::slt, chunk, e.index(chunks)),
                        [&](OpBuilder &nb, Location l) {
                          ImplicitLocOpBuilder ib(l, nb);
                          copy(ib);
                          scf::YieldOp::create(ib);
                        });
    }
  }

  enum class Copy { Key, Value, Both };

  /// One commit group holding the K and/or V tile starting at key `j0`, in
  /// buffer `stage` (none: buffer 0 of single buffers), when `enabled` (an empty group otherwise, so that wait
  /// counts stay fixed). The copies sit under an scf.if rather than
  /// zero-filling: two in-flight copies to the same shared bytes have no
  /// defined order. stages = 1 copies K and V as separate groups, the ring
  /// both together.
  void prefetch(ImplicitLocOpBuilder &b, Value enabled, Value j0, Value stage,
                Copy what) {
    scf::IfOp::create(b, enabled, [&](OpBuilder &nb, Location l) {
      ImplicitLocOpBuilder ib(l, nb);
      Value buffer = stage ? stage : arith::ConstantIndexOp::create(ib, 0);
      if (what != Copy::Value)
        copySwizzled(ib, key, kvHead, j0, cfg.tileK, cfg.keyLen,
                     cfg.headDim, kTile, buffer);
      if (what != Copy::Key)
        copySwizzled(ib, value, kvHead, j0, cfg.tileK, cfg.keyLen,
                     cfg.valueDim, vTile, buffer);
      scf::YieldOp::create(ib);
    });
    NVVM::CpAsyncCommitGroupOp::create(b);
  }

  /// Waits until at most `pending` copy groups are in flight, then makes the
  /// landed tiles visible to wgmma (async proxy) and to every warp.
  void waitForCopies(ImplicitLocOpBuilder &b, int32_t pending) {
    NVVM::CpAsyncWaitGroupOp::create(b, pending);
    LLVM::InlineAsmOp::create(b, TypeRange{}, ValueRange{},
                              "fence.proxy.async.shared::cta;", "", true,
                              false, LLVM::tailcallkind::TailCallKind::None,
                              LLVM::AsmDialectAttr(), ArrayAttr());
    gpu::BarrierOp::create(b);
  }

  /// A warp's wgmma.wait_group does not tell that the other warps' wgmma
  /// reads are done (CUTLASS's consumer release counts every warp too): a
  /// block barrier before a tile is overwritten.
  void afterWgmma(ImplicitLocOpBuilder &b) { gpu::BarrierOp::create(b); }

  /// wgmma.wait_group 0 with every accumulator value passed through the same
  /// asm statement: the compiler cannot read an accumulator before the wait.
  SmallVector<Value> waitForAccumulators(ImplicitLocOpBuilder &b,
                                         ArrayRef<Value> values) {
    int64_t n = values.size();
    std::string constraints;
    for (int64_t i = 0; i < n; ++i)
      constraints += (i ? ",=f" : "=f");
    for (int64_t i = 0; i < n; ++i)
      constraints += "," + std::to_string(i);
    Type f32 = b.getF32Type();
    auto structType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(n, f32));
    Value result =
        LLVM::InlineAsmOp::create(b, structType, values,
                                  "wgmma.wait_group.sync.aligned 0;",
                                  constraints, true, false,
                                  LLVM::tailcallkind::TailCallKind::None,
                                  LLVM::AsmDialectAttr(), ArrayAttr())
            .getRes();
    SmallVector<Value> out;
    for (int64_t i = 0; i < n; ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, result, i));
    return out;
  }

  /// Accumulator element i of an m64nNk16 wgmma is (row g + 8 ((i % 4) / 2),
  /// column 8 (i / 4) + 2c + i % 2): tile i / 4 of the 2x2 layout.
  SmallVector<Value> toTiles(ImplicitLocOpBuilder &b, ArrayRef<Value> flat) {
    SmallVector<Value> tiles;
    for (size_t t = 0; t * 4 < flat.size(); ++t)
      tiles.push_back(make2x2(b, flat.slice(4 * t, 4), b.getF32Type()));
    return tiles;
  }
  void appendFlat(ImplicitLocOpBuilder &b, Value tile,
                  SmallVectorImpl<Value> &flat) {
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t i = 0; i < 2; ++i)
        flat.push_back(element(b, tile, r, i));
  }

  /// Issues S = Q K^T for the K tile in ring buffer `stage` as one commit
  /// group: D / 16 wgmma m64n{tileK}k16, both operands from shared memory
  /// (K-major). Returns the accumulators, valid only after a wait.
  SmallVector<Value> issueScores(ImplicitLocOpBuilder &b, Value stage) {
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type();
    auto structType = LLVM::LLVMStructType::getLiteral(
        ctx, SmallVector<Type>(cfg.tileK / 2, f32));
    auto eltType = cfg.elementType.isF16() ? NVVM::WGMMATypes::f16
                                           : NVVM::WGMMATypes::bf16;
    Value acc = LLVM::ZeroOp::create(b, structType);
    Value kStage = stageDescriptor(b, kDesc, stage, cfg.headDim);
    NVVM::WgmmaFenceAlignedOp::create(b);
    for (int64_t ks = 0; ks < cfg.headDim / 16; ++ks) {
      int64_t inBlock = (ks % 4) * 32; // 16 columns of 2 bytes
      Value a = advance(b, qDesc, (ks / 4) * cfg.tileQ() * 128 + inBlock);
      Value bDesc = advance(b, kStage, (ks / 4) * cfg.tileK * 128 + inBlock);
      acc = NVVM::WgmmaMmaAsyncOp::create(
          b, structType, acc, a, bDesc,
          NVVM::MMAShapeAttr::get(ctx, 64, cfg.tileK, 16),
          NVVM::WGMMATypesAttr::get(ctx, eltType),
          NVVM::WGMMATypesAttr::get(ctx, eltType),
          NVVM::WGMMATypesAttr::get(ctx, NVVM::WGMMATypes::f32),
          NVVM::WGMMAScaleOutAttr::get(ctx, NVVM::WGMMAScaleOut::one),
          NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
          NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
          NVVM::MMALayoutAttr::get(ctx, NVVM::MMALayout::row),
          NVVM::MMALayoutAttr::get(ctx, NVVM::MMALayout::col),
          NVVM::MMAIntOverflowAttr());
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b);
    SmallVector<Value> flat;
    for (int64_t i = 0; i < cfg.tileK / 2; ++i)
      flat.push_back(LLVM::ExtractValueOp::create(b, acc, i));
    return flat;
  }
  SmallVector<Value> wgmmaScores(ImplicitLocOpBuilder &b, Value stage) {
    return toTiles(b, waitForAccumulators(b, issueScores(b, stage)));
  }

  /// O += P V: P from registers (the S accumulator layout is the A fragment
  /// layout), V from shared memory (MN-major: trans-b = 1), one wgmma
  /// m64n64k16 per 16 keys and 64 value columns. MLIR 22's
  /// nvvm.wgmma.mma_async only takes A from shared memory, hence inline PTX.
  SmallVector<Value> wgmmaValues(ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> probs,
                                 ArrayRef<Value> accTiles, Value stage) {
    SmallVector<Value> flat;
    for (Value t : accTiles)
      appendFlat(b, t, flat);
    flat = issueValues(b, packProbabilities(b, probs), flat, stage);
    return toTiles(b, waitForAccumulators(b, flat));
  }

  /// P as wgmma A fragments: 4 words (2 x f16/bf16 each) per 16 keys.
  SmallVector<Value> packProbabilities(ImplicitLocOpBuilder &b,
                                       ArrayRef<Value> probs) {
    Type i32 = b.getI32Type();
    auto halfType = VectorType::get({2, 2}, cfg.elementType);
    auto pairWord = [&](Value tile, int64_t r) {
      Value pair = vector::ExtractOp::create(b, tile, ArrayRef<int64_t>{r});
      Value word = vector::BitCastOp::create(b, VectorType::get({1}, i32),
                                             pair);
      return vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0})
          .getResult();
    };
    SmallVector<Value> words;
    for (int64_t ks = 0; ks < cfg.tileK / 16; ++ks) {
      Value low = arith::TruncFOp::create(b, halfType, probs[2 * ks]);
      Value high = arith::TruncFOp::create(b, halfType, probs[2 * ks + 1]);
      words.append({pairWord(low, 0), pairWord(low, 1), pairWord(high, 0),
                    pairWord(high, 1)});
    }
    return words;
  }

  /// Issues O += P V (P as packed words, O flat in the accumulator order)
  /// for the V tile in ring buffer `stage` as one commit group; returns the
  /// accumulators, valid only after a wait.
  SmallVector<Value> issueValues(ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> words,
                                 SmallVector<Value> flat, Value stage) {
    Type i32 = b.getI32Type();
    Type f32 = b.getF32Type();
    constexpr int64_t kN = 64; // value columns per wgmma
    StringRef types = cfg.elementType.isF16() ? "f16" : "bf16";
    Value one = arith::ConstantIntOp::create(b, i32, 1);
    int64_t n = kN / 2; // accumulator values per wgmma
    auto structType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(n, f32));
    std::string constraints;
    for (int64_t i = 0; i < n; ++i)
      constraints += (i ? ",=f" : "=f");
    for (int64_t i = 0; i < n; ++i)
      constraints += "," + std::to_string(i);
    constraints += ",r,r,r,r,l,r";
    Value vStage = stageDescriptor(b, vDesc, stage, cfg.valueDim);
    for (int64_t ks = 0; ks < cfg.tileK / 16; ++ks) {
      ArrayRef<Value> aWords = words.slice(4 * ks, 4);
      for (int64_t nc = 0; nc < cfg.valueDim / kN; ++nc) {
        std::string ptx = "{\n.reg .pred p;\n";
        if (ks == 0 && nc == 0) // registers of P and O were just written
          ptx += "wgmma.fence.sync.aligned;\n";
        ptx += "setp.ne.b32 p, $" + std::to_string(2 * n + 5) + ", 0;\n";
        ptx += "wgmma.mma_async.sync.aligned.m64n" + std::to_string(kN) +
               "k16.f32." + types.str() + "." + types.str() + " {";
        for (int64_t i = 0; i < n; ++i)
          ptx += (i ? ", $" : "$") + std::to_string(i);
        ptx += "}, {";
        for (int64_t i = 0; i < 4; ++i)
          ptx += (i ? ", $" : "$") + std::to_string(2 * n + i);
        ptx += "}, $" + std::to_string(2 * n + 4) + ", p, 1, 1, 1;\n}";
        // 16 keys = 16 rows of 128 bytes; 64 columns = one block.
        Value bDesc = advance(b, vStage, nc * cfg.tileK * 128 + ks * 16 * 128);
        SmallVector<Value> operands(flat.begin() + nc * n,
                                    flat.begin() + (nc + 1) * n);
        operands.append(aWords.begin(), aWords.end());
        operands.push_back(bDesc);
        operands.push_back(one);
        Value result =
            LLVM::InlineAsmOp::create(b, structType, operands, ptx,
                                      constraints, true, false,
                                      LLVM::tailcallkind::TailCallKind::None,
                                      LLVM::AsmDialectAttr(), ArrayAttr())
                .getRes();
        for (int64_t i = 0; i < n; ++i)
          flat[nc * n + i] = LLVM::ExtractValueOp::create(b, result, i);
      }
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b);
    return flat;
  }

  struct SoftmaxStep {
    SmallVector<Value> probs;    // tileK / 8 tiles of 2x2 f32
    SmallVector<Value> m, l;     // new row max and sum, rows g and g + 8
    SmallVector<Value> alpha;    // factor for the old O rows
  };

  /// Masks (edge tiles only), scales and exponentiates one tile of scores
  /// and updates the running row max `m` and sum `l`.
  SoftmaxStep softmaxStep(ImplicitLocOpBuilder &b, Value j0, Value lo,
                          Value hi, int side, ArrayRef<Value> scores,
                          ArrayRef<Value> m, ArrayRef<Value> l) {
    Builder e{b};
    Type f32 = b.getF32Type();
    // Interior tiles need no mask: every pair's distance is in [lo, hi) and
    // every key exists.
    Value lastKey = e.add(j0, e.index(cfg.tileK - 1));
    Value allKeys = e.cmp(P::slt, lastKey, e.index(cfg.keyLen));
    Value inside =
        side > 0 ? e.andi(e.cmp(P::sge, e.sub(firstPos, lastKey), lo),
                          e.cmp(P::slt, e.sub(lastPos, j0), hi))
                 : e.andi(e.cmp(P::sge, e.sub(j0, lastPos), lo),
                          e.cmp(P::slt, e.sub(lastKey, firstPos), hi));
    Value interior = e.andi(allKeys, inside);
    Value scale = e.f32(cfg.scaleLog2);
    Value negInf = e.f32(-INFINITY);
    SmallVector<Type> accTypes(scores.size(), VectorType::get({2, 2}, f32));
    auto scaled = scf::IfOp::create(
        b, interior,
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          SmallVector<Value> results;
          for (Value s : scores)
            results.push_back(arith::MulFOp::create(
                ib, s, vector::BroadcastOp::create(
                           ib, VectorType::get({2, 2}, f32), scale)));
          scf::YieldOp::create(ib, results);
        },
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          Builder ie{ib};
          SmallVector<Value> results;
          Value rowBase = ie.add(firstPos, ie.add(ie.mul(warp, ie.index(16)), g));
          for (auto [nt, s] : llvm::enumerate(scores)) {
            SmallVector<Value> elems;
            for (int64_t r = 0; r < 2; ++r)
              for (int64_t i = 0; i < 2; ++i) {
                Value p = ie.add(rowBase, ie.index(8 * r));
                Value j = ie.add(j0, ie.add(ie.index(nt * 8 + i),
                                            ie.mul(c, ie.index(2))));
                Value d = side > 0 ? ie.sub(p, j) : ie.sub(j, p);
                Value ok = ie.andi(
                    ie.andi(ie.cmp(P::sge, d, lo), ie.cmp(P::slt, d, hi)),
                    ie.cmp(P::slt, j, ie.index(cfg.keyLen)));
                Value v = ie.fmul(element(ib, s, r, i), scale);
                elems.push_back(ie.select(ok, v, negInf));
              }
            results.push_back(make2x2(ib, elems, f32));
          }
          scf::YieldOp::create(ib, results);
        });

    // Online softmax per row r in {g, g + 8}.
    SmallVector<Value> safe(2), alpha(2), newMax(2);
    for (int64_t r = 0; r < 2; ++r) {
      Value rowMax = negInf;
      for (Value s : scaled.getResults())
        for (int64_t i = 0; i < 2; ++i)
          rowMax = e.fmax(rowMax, element(b, s, r, i));
      rowMax = e.fmax(rowMax, e.shuffleXor(rowMax, 1));
      rowMax = e.fmax(rowMax, e.shuffleXor(rowMax, 2));
      newMax[r] = e.fmax(m[r], rowMax);
      Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                          newMax[r], negInf);
      safe[r] = e.select(empty, e.f32(0.0), newMax[r]);
      alpha[r] = e.exp2(e.fsub(m[r], safe[r]));
    }
    SmallVector<Value> probs;
    SmallVector<Value> rowSum = {e.f32(0.0), e.f32(0.0)};
    for (Value s : scaled.getResults()) {
      SmallVector<Value> elems;
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t i = 0; i < 2; ++i) {
          Value p = e.exp2(e.fsub(element(b, s, r, i), safe[r]));
          rowSum[r] = e.fadd(rowSum[r], p);
          elems.push_back(p);
        }
      probs.push_back(make2x2(b, elems, f32));
    }
    SoftmaxStep step;
    step.probs = probs;
    step.alpha = alpha;
    for (int64_t r = 0; r < 2; ++r) {
      step.m.push_back(newMax[r]);
      step.l.push_back(e.fadd(e.fmul(l[r], alpha[r]), rowSum[r]));
    }
    return step;
  }

  SmallVector<Value> keyTile(ImplicitLocOpBuilder &b, Value j0, Value lo,
                             Value hi, int side, Value begin, Value end,
                             std::pair<Value, Value> follow,
                             ValueRange state) {
    Builder e{b};
    Type f32 = b.getF32Type();
    SmallVector<Value> scores;
    Value hasNext, nextStart;
    Value stage; // ring buffer of this tile (stages > 1)
    if (cfg.wgmma && cfg.stages > 1) {
      Value t = e.div(e.sub(j0, begin), e.index(cfg.tileK));
      Value ahead = e.add(j0, e.index((cfg.stages - 1) * cfg.tileK));
      prefetch(b, e.cmp(P::slt, ahead, end), ahead,
               e.rem(e.add(t, e.index(cfg.stages - 1)), e.index(cfg.stages)),
               Copy::Both);
      waitForCopies(b, cfg.stages - 1); // tile t landed
      stage = e.rem(t, e.index(cfg.stages));
      scores = wgmmaScores(b, stage);
    } else if (cfg.wgmma) {
      // K(j) (and Q) landed; V(j) may still be in flight.
      waitForCopies(b, 1);
      scores = wgmmaScores(b, e.index(0));
      afterWgmma(b); // every warp is done with K(j)
      // The next tile: in this range, else the next non-empty range's first.
      Value inRange = e.cmp(P::slt, e.add(j0, e.index(cfg.tileK)), end);
      hasNext = e.ori(inRange, follow.first);
      nextStart = e.select(inRange, e.add(j0, e.index(cfg.tileK)),
                           follow.second);
      prefetch(b, hasNext, nextStart, Value(), Copy::Key);
    } else {
      gpu::BarrierOp::create(b); // previous tile's shared reads are done
      copyTile(b, key, kvHead, j0, cfg.tileK, cfg.keyLen, cfg.headDim, smem,
               e.index(0));
      copyTile(b, value, kvHead, j0, cfg.tileK, cfg.keyLen, cfg.valueDim,
               smem, vRowBase);
      gpu::BarrierOp::create(b);
      scores = mmaSyncScores(b);
    }

    SmallVector<Value> m(state.begin(), state.begin() + 2);
    SmallVector<Value> l(state.begin() + 2, state.begin() + 4);
    SoftmaxStep step = softmaxStep(b, j0, lo, hi, side, scores, m, l);
    SmallVector<Value> acc(state.begin() + 4, state.end());
    SmallVector<Value> probs = step.probs, alpha = step.alpha;
    SmallVector<Value> next = step.m;
    next.append(step.l.begin(), step.l.end());
    // Rescale O rows by alpha.
    Value alphaTile = make2x2(b, {alpha[0], alpha[0], alpha[1], alpha[1]}, f32);
    for (Value &a : acc)
      a = arith::MulFOp::create(b, a, alphaTile);

    if (cfg.wgmma && cfg.stages > 1) {
      acc = wgmmaValues(b, probs, acc, stage);
      afterWgmma(b); // buffer `stage` is refilled next iteration
      next.append(acc.begin(), acc.end());
      return next;
    }
    if (cfg.wgmma) {
      waitForCopies(b, 1); // V(j) landed; K(j + 1) may still be in flight
      acc = wgmmaValues(b, probs, acc, e.index(0));
      afterWgmma(b); // every warp is done with V(j)
      prefetch(b, hasNext, nextStart, Value(), Copy::Value);
      next.append(acc.begin(), acc.end());
      return next;
    }

    if (cfg.tf32()) {
      acc = tf32Values(b, probs, acc);
      next.append(acc.begin(), acc.end());
      return next;
    }

    // O += P V: P as A fragments (two accumulator tiles per 16 keys).
    auto halfType = VectorType::get({2, 2}, cfg.elementType);
    for (int64_t ks = 0; ks < cfg.tileK / 16; ++ks) {
      Value lowTile = arith::TruncFOp::create(b, halfType, probs[2 * ks]);
      Value highTile = arith::TruncFOp::create(b, halfType, probs[2 * ks + 1]);
      SmallVector<Value> aElems;
      for (Value tile : {lowTile, highTile})
        for (int64_t r = 0; r < 2; ++r)
          for (int64_t i = 0; i < 2; ++i)
            aElems.push_back(element(b, tile, r, i));
      Value aFrag = vector::FromElementsOp::create(
          b, VectorType::get({4, 2}, cfg.elementType), aElems);
      Value keyRow = e.add(e.index(ks * 16), e.rem(lane, e.index(16)));
      for (int64_t dt = 0; dt < cfg.valueDim / 8; ++dt) {
        Value bFrag = ldmatrix(b, smem, e.add(vRowBase, keyRow),
                               e.index(dt * 8), 2, true);
        acc[dt] = mmaSync(b, aFrag, bFrag, acc[dt]);
      }
    }
    next.append(acc.begin(), acc.end());
    return next;
  }

  /// O += P V in tf32 (m16n8k8, one accumulator tile of P per 8 keys). The
  /// A fragment wants keys c and c + 4 of rows g and g + 8, while lane
  /// (g, c) holds keys 2c and 2c + 1: four quad shuffles per row fetch them.
  SmallVector<Value> tf32Values(ImplicitLocOpBuilder &b,
                                ArrayRef<Value> probs,
                                SmallVector<Value> acc) {
    Builder e{b};
    Type i32 = b.getI32Type();
    Value quadBase = e.mul(g, e.index(4));
    Value odd = e.cmp(P::eq, e.rem(c, e.index(2)), e.index(1));
    auto lane32 = [&](Value index) {
      return arith::IndexCastOp::create(b, i32, index).getResult();
    };
    Value fromLow = lane32(e.add(quadBase, e.div(c, e.index(2))));
    Value fromHigh =
        lane32(e.add(quadBase, e.add(e.index(2), e.div(c, e.index(2)))));
    Value width = arith::ConstantIntOp::create(b, i32, 32);
    auto fetch = [&](Value tile, int64_t r, Value srcLane) {
      SmallVector<Value> got;
      for (int64_t i = 0; i < 2; ++i)
        got.push_back(gpu::ShuffleOp::create(b, element(b, tile, r, i),
                                             srcLane, width,
                                             gpu::ShuffleMode::IDX)
                          .getShuffleResult());
      Value v = e.select(odd, got[1], got[0]);
      return arith::BitcastOp::create(b, i32, v).getResult();
    };
    for (int64_t kb = 0; kb < cfg.tileK / 8; ++kb) {
      SmallVector<Value> aFrag = {fetch(probs[kb], 0, fromLow),
                                  fetch(probs[kb], 1, fromLow),
                                  fetch(probs[kb], 0, fromHigh),
                                  fetch(probs[kb], 1, fromHigh)};
      // B = V (k8 keys x n8 columns): lane (g, c) holds V[key c][g] and
      // V[key c + 4][g].
      Value keyRow = e.add(vRowBase, e.add(e.index(kb * 8), c));
      for (int64_t dt = 0; dt < cfg.valueDim / 8; ++dt) {
        Value col = e.add(e.index(dt * 8), g);
        SmallVector<Value> bFrag = {
            sharedWord(b, keyRow, col),
            sharedWord(b, e.add(keyRow, e.index(4)), col)};
        acc[dt] = mmaSyncTf32(b, aFrag, bFrag, acc[dt]);
      }
    }
    return acc;
  }

  void epilogue(ImplicitLocOpBuilder &b, ArrayRef<Value> state) {
    Builder e{b};
    Type f32 = b.getF32Type();
    SmallVector<Value> total(2), inverse(2), hasKeys(2);
    for (int64_t r = 0; r < 2; ++r) {
      Value l = state[2 + r];
      l = e.fadd(l, e.shuffleXor(l, 1));
      l = e.fadd(l, e.shuffleXor(l, 2));
      total[r] = l;
      hasKeys[r] = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l,
                                         e.f32(0.0));
      inverse[r] = e.select(hasKeys[r],
                            arith::DivFOp::create(b, e.f32(1.0), l),
                            e.f32(0.0));
    }
    Value rowBase = e.add(i0, e.add(e.mul(warp, e.index(16)), g));
    auto pairType = VectorType::get({2}, cfg.elementType);
    for (int64_t r = 0; r < 2; ++r) {
      Value row = e.add(rowBase, e.index(8 * r));
      Value valid = e.cmp(P::slt, row, e.index(cfg.queryLen));
      scf::IfOp::create(b, valid, [&](OpBuilder &nb, Location loc) {
        ImplicitLocOpBuilder ib(loc, nb);
        Builder ie{ib};
        for (int64_t dt = 0; dt < cfg.valueDim / 8; ++dt) {
          Value acc = state[4 + dt];
          Value v0 = ie.fmul(element(ib, acc, r, 0), inverse[r]);
          Value v1 = ie.fmul(element(ib, acc, r, 1), inverse[r]);
          Value pair = vector::FromElementsOp::create(
              ib, VectorType::get({2}, f32), ValueRange{v0, v1});
          Value narrow =
              cfg.tf32() ? pair
                         : arith::TruncFOp::create(ib, pairType, pair)
                               .getResult();
          Value col = ie.add(ie.index(dt * 8), ie.mul(c, ie.index(2)));
          vector::StoreOp::create(ib, narrow, out,
                                  ValueRange{batchIdx, head, row, col},
                                  false,
                                  llvm::MaybeAlign(cfg.tf32() ? 8 : 4));
        }
        if (cfg.withLse) {
          Value first = ie.cmp(P::eq, c, ie.index(0));
          scf::IfOp::create(ib, first, [&](OpBuilder &nb2, Location l2) {
            ImplicitLocOpBuilder jb(l2, nb2);
            Builder je{jb};
            Value natural = je.fmul(
                je.fadd(state[r], Builder::approx(jb, "lg2.approx.ftz.f32 $0, $1;",
                                                  total[r])),
                je.f32(M_LN2));
            Value value = je.select(hasKeys[r], natural, je.f32(-INFINITY));
            memref::StoreOp::create(jb, value, lse,
                                    ValueRange{batchIdx, head, row});
            scf::YieldOp::create(jb);
          });
        }
        scf::YieldOp::create(ib);
      });
    }
  }
};

/// Work items (batch, head, query tile), heaviest first by the cost model.
SmallVector<int32_t> workList(const plan::BandTable &table,
                              const KernelConfig &cfg) {
  int64_t queryTiles = (cfg.queryLen + cfg.tileQ() - 1) / cfg.tileQ();
  struct Item {
    double cost;
    int64_t head, tile;
  };
  std::vector<Item> items;
  for (int64_t h = 0; h < cfg.numQueryHeads; ++h)
    for (int64_t t = 0; t < queryTiles; ++t)
      items.push_back({plan::workItemCost(table.heads[h], t, cfg.queryLen,
                                          cfg.keyLen, table.mode,
                                          {cfg.tileQ(), cfg.tileK}),
                       h, t});
  std::stable_sort(items.begin(), items.end(),
                   [](const Item &a, const Item &b) { return a.cost > b.cost; });
  SmallVector<int32_t> list;
  for (const Item &item : items)
    for (int64_t b = 0; b < cfg.batch; ++b) {
      list.push_back(b);
      list.push_back(item.head);
      list.push_back(item.tile);
    }
  return list;
}

/// Why the wgmma kernel cannot serve `cfg`, or an empty string.
std::string wgmmaUnsupportedReason(KernelConfig cfg) {
  cfg.wgmma = true;
  if (cfg.warps != 4 && cfg.warps != 8)
    return "it runs one or two warpgroups (warps = 4 or 8), got warps = " +
           std::to_string(cfg.warps);
  if (cfg.elementType.isF32())
    return "f32 inputs take the tf32 mma.sync kernel";
  if (cfg.headDim % 64 || cfg.valueDim % 64)
    return "it needs D and Dv multiples of 64, got D = " +
           std::to_string(cfg.headDim) + ", Dv = " +
           std::to_string(cfg.valueDim);
  if (cfg.sharedBytes() > kMaxDynamicShared)
    return "its Q, K and V tiles need " + std::to_string(cfg.sharedBytes()) +
           " bytes of shared memory, more than the " +
           std::to_string(kMaxDynamicShared) + " a block can have" +
           (cfg.stages > 1 ? "; use fewer stages" : "");
  return "";
}

LogicalResult convert(AttentionOp op, gpu::GPUModuleOp kernels,
                      unsigned index, int64_t warps, int64_t tileK,
                      int64_t stages, StringRef mma, StringRef chip) {
  if (op.hasPureTensorSemantics())
    return op.emitOpError("convert-spa-to-gpu expects buffers; bufferize "
                          "first (the spa-to-nvvm pipeline does)");
  BandsAttr bands = op.getBandTable();
  if (!bands)
    return op.emitOpError("the GPU path needs a concrete band table with a "
                          "static key length; run -spa-balance-bands");
  auto qType = cast<MemRefType>(op.getQuery().getType());
  auto kType = cast<MemRefType>(op.getKey().getType());
  auto vType = cast<MemRefType>(op.getValue().getType());
  for (Value v : op->getOperands())
    if (!cast<MemRefType>(v.getType()).hasStaticShape() ||
        !cast<MemRefType>(v.getType()).getLayout().isIdentity())
      return op.emitOpError("the GPU path needs static shapes and identity "
                            "layouts, got ")
             << v.getType();
  Type elt = qType.getElementType();
  if (!elt.isF16() && !elt.isBF16() && !elt.isF32())
    return op.emitOpError("the GPU path supports f16, bf16 (tensor cores) "
                          "and f32 (tf32 tensor cores); got ")
           << elt;
  KernelConfig cfg;
  cfg.warps = warps;
  cfg.tileK = tileK;
  cfg.stages = std::max<int64_t>(stages, 1); // 0 (auto) is decided below
  cfg.elementType = elt;
  cfg.batch = qType.getDimSize(0);
  cfg.numQueryHeads = qType.getDimSize(1);
  cfg.numKvHeads = kType.getDimSize(1);
  cfg.queryLen = qType.getDimSize(2);
  cfg.keyLen = kType.getDimSize(2);
  cfg.headDim = qType.getDimSize(3);
  cfg.valueDim = vType.getDimSize(3);
  if (cfg.headDim % 16 || cfg.valueDim % 16 || cfg.headDim > 256 ||
      cfg.valueDim > 256)
    return op.emitOpError("the GPU path needs D and Dv multiples of 16, at "
                          "most 256; got D = ")
           << cfg.headDim << ", Dv = " << cfg.valueDim;
  if (cfg.batch == 0 || cfg.queryLen == 0)
    return op.emitOpError("empty batch or query sequence");
  // wgmma needs sm_90a; `auto` takes it wherever the shape allows.
  std::string reason = wgmmaUnsupportedReason(cfg);
  if (mma == "wgmma") {
    if (chip != "sm_90a")
      return op.emitOpError("mma = wgmma needs chip = sm_90a, got ") << chip;
    if (!reason.empty())
      return op.emitOpError("the wgmma kernel does not apply: ") << reason;
    cfg.wgmma = true;
  } else if (mma == "auto") {
    cfg.wgmma = chip == "sm_90a" && reason.empty();
  }
  if (cfg.wgmma && stages == 0) {
    // A second K/V buffer where three blocks still fit on an SM (measured:
    // D = 64 gains 7-9%; at D = 128 the 80 KiB ring leaves room for two
    // blocks only and loses 15%, see docs/benchmarks.md).
    KernelConfig ring = cfg;
    ring.stages = 2;
    cfg.stages = 3 * ring.sharedBytes() <= kSharedPerSM ? 2 : 1;
  }
  if (!cfg.wgmma && stages > 1) {
    InFlightDiagnostic diag = op.emitOpError("stages = ");
    diag << stages << " needs the wgmma kernel (the mma.sync kernel copies "
         << "synchronously); ";
    if (mma == "mma.sync")
      diag << "mma = mma.sync was asked for";
    else if (chip != "sm_90a")
      diag << "wgmma needs chip = sm_90a, got " << chip;
    else
      diag << "wgmma does not apply: " << reason;
    return diag;
  }
  // f32 tiles take twice the bytes: narrower key tiles until they fit
  // (the tf32 kernel is the slow path; its tile is reported in spa.launch).
  while (cfg.tf32() && cfg.sharedBytes() > 48 * 1024 && cfg.tileK > 16)
    cfg.tileK /= 2;
  if (cfg.tf32() && cfg.sharedBytes() > 48 * 1024)
    return op.emitOpError()
           << "the f32 (tf32) kernel's shared tile needs " << cfg.sharedBytes()
           << " bytes even with tile-k = " << cfg.tileK
           << ", more than the 48 KiB of static shared memory; use fewer "
              "warps";
  if (!cfg.wgmma && cfg.sharedBytes() > 48 * 1024)
    return op.emitOpError()
           << "the kernel's shared tile needs " << cfg.sharedBytes()
           << " bytes, more than the 48 KiB of static shared memory; use "
              "fewer warps or a smaller tile-k";
  cfg.bidirectional = bands.getMode() == BandMode::Bidirectional;
  cfg.withLse = op.getOutputs().size() == 2;
  cfg.scaleLog2 = op.getEffectiveScale() * M_LOG2E;
  plan::BandTable table = toPlanTable(bands);
  cfg.slots = 1;
  for (const auto &head : table.heads)
    cfg.slots = std::max<int64_t>(cfg.slots, head.size());

  OpBuilder builder(op);
  Location loc = op.getLoc();
  ImplicitLocOpBuilder b(loc, builder);

  // Host-side constants: the bounds table and the work list.
  auto module = op->getParentOfType<ModuleOp>();
  SymbolTable symbols(module);
  SmallVector<int32_t> boundValues;
  for (const auto &head : table.heads)
    for (int64_t s = 0; s < cfg.slots; ++s) {
      boundValues.push_back(s < (int64_t)head.size() ? head[s].lo : 0);
      boundValues.push_back(s < (int64_t)head.size() ? head[s].hi : 0);
    }
  SmallVector<int32_t> items = workList(table, cfg);
  auto makeGlobal = [&](StringRef name, ArrayRef<int64_t> shape,
                        ArrayRef<int32_t> values) -> Value {
    auto type = MemRefType::get(shape, b.getI32Type());
    OpBuilder gb = OpBuilder::atBlockBegin(module.getBody());
    auto global = memref::GlobalOp::create(
        gb, loc, gb.getStringAttr(name), gb.getStringAttr("private"),
        TypeAttr::get(type),
        DenseElementsAttr::get(
            RankedTensorType::get(shape, b.getI32Type()), values),
        gb.getUnitAttr(), gb.getI64IntegerAttr(64));
    symbols.insert(global);
    return memref::GetGlobalOp::create(b, type, global.getSymName());
  };
  std::string base = "spa_attention_" + std::to_string(index);
  Value boundsBuffer = makeGlobal(base + "_bounds",
                                  {cfg.numQueryHeads, cfg.slots, 2},
                                  boundValues);
  int64_t numItems = items.size() / 3;
  Value workBuffer = makeGlobal(base + "_work", {numItems, 3}, items);

  SmallVector<Value> operands = {op.getQuery(), op.getKey(), op.getValue(),
                                 op.getOutput()};
  if (cfg.withLse)
    operands.push_back(op.getLogSumExp());
  operands.push_back(boundsBuffer);
  operands.push_back(workBuffer);
  SmallVector<Type> argTypes;
  for (Value v : operands)
    argTypes.push_back(v.getType());

  OpBuilder kb = OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
  if (cfg.wgmma && !SymbolTable::lookupSymbolIn(kernels, kDynamicSharedName)) {
    // Public and without initialiser: `.extern .shared .align 1024 .b8
    // spa_dynamic_shared[]`, sized at launch.
    OpBuilder gb = OpBuilder::atBlockBegin(&kernels.getBodyRegion().front());
    auto workgroup = gpu::AddressSpaceAttr::get(gb.getContext(),
                                                gpu::AddressSpace::Workgroup);
    memref::GlobalOp::create(
        gb, loc, gb.getStringAttr(kDynamicSharedName), StringAttr(),
        TypeAttr::get(MemRefType::get({0}, gb.getI8Type(),
                                      MemRefLayoutAttrInterface(), workgroup)),
        Attribute(), UnitAttr(), gb.getI64IntegerAttr(1024));
  }
  KernelBuilder kernelBuilder(cfg);
  gpu::GPUFuncOp kernel = kernelBuilder.build(kb, loc, base, argTypes);
  // Launch metadata for runtimes without MLIR (see CudaCompiler).
  SmallVector<Attribute> argNames;
  for (StringRef name : {"query", "key", "value", "output"})
    argNames.push_back(b.getStringAttr(name));
  if (cfg.withLse)
    argNames.push_back(b.getStringAttr("log_sum_exp"));
  argNames.push_back(b.getStringAttr("bounds"));
  argNames.push_back(b.getStringAttr("work"));
  kernel->setAttr(
      "spa.launch",
      b.getDictionaryAttr({
          b.getNamedAttr("grid", b.getDenseI64ArrayAttr({numItems, 1, 1})),
          b.getNamedAttr("block",
                         b.getDenseI64ArrayAttr({cfg.threads(), 1, 1})),
          b.getNamedAttr("args", b.getArrayAttr(argNames)),
          b.getNamedAttr("bounds", b.getDenseI32ArrayAttr(boundValues)),
          b.getNamedAttr("work", b.getDenseI32ArrayAttr(items)),
          b.getNamedAttr("bands", bands),
          b.getNamedAttr("tile",
                         b.getDenseI64ArrayAttr({cfg.tileQ(), cfg.tileK})),
          b.getNamedAttr("mma", b.getStringAttr(cfg.wgmma ? "wgmma"
                                                          : "mma.sync")),
          b.getNamedAttr("shared_bytes",
                         b.getI64IntegerAttr(cfg.sharedBytes())),
          b.getNamedAttr("dynamic_shared_bytes",
                         b.getI64IntegerAttr(cfg.wgmma ? cfg.sharedBytes()
                                                       : 0)),
      }));

  Value one = arith::ConstantIndexOp::create(b, 1);
  gpu::KernelDim3 grid{arith::ConstantIndexOp::create(b, numItems), one, one};
  gpu::KernelDim3 block{arith::ConstantIndexOp::create(b, cfg.threads()),
                        one, one};
  Value dynamicShared;
  if (cfg.wgmma)
    dynamicShared = arith::ConstantIntOp::create(b, b.getI32Type(),
                                                 cfg.sharedBytes());
  gpu::LaunchFuncOp::create(b, kernel, grid, block, dynamicShared, operands);
  op.erase();
  return success();
}

struct ConvertSpaToGPUPass
    : public mlir::spa::impl::ConvertSpaToGPUBase<ConvertSpaToGPUPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!llvm::is_contained({1, 2, 4, 8}, warps.getValue()) ||
        !llvm::is_contained({16, 32, 64, 128}, tileK.getValue())) {
      module.emitError() << "convert-spa-to-gpu: warps must be 1, 2, 4 or 8 "
                            "and tile-k 16, 32, 64 or 128; got warps = "
                         << warps.getValue() << ", tile-k = "
                         << tileK.getValue();
      return signalPassFailure();
    }
    if (stages < 0 || stages > 4) {
      module.emitError() << "convert-spa-to-gpu: stages must be 0 (auto) to "
                            "4; got "
                         << stages.getValue();
      return signalPassFailure();
    }
    if (!llvm::Regex("^sm_[0-9]+a?$").match(chip.getValue())) {
      module.emitError() << "convert-spa-to-gpu: chip must look like sm_90a "
                            "or sm_80; got '"
                         << chip.getValue() << "'";
      return signalPassFailure();
    }
    if (!llvm::is_contained({"auto", "mma.sync", "wgmma"}, mma.getValue())) {
      module.emitError() << "convert-spa-to-gpu: mma must be auto, mma.sync "
                            "or wgmma; got '"
                         << mma.getValue() << "'";
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    module.walk([&](AttentionOp op) { ops.push_back(op); });
    if (ops.empty())
      return;
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    auto kernels =
        gpu::GPUModuleOp::create(builder, module.getLoc(), "spa_kernels");
    for (auto [index, op] : llvm::enumerate(ops))
      if (failed(convert(op, kernels, index, warps, tileK, stages, mma,
                         chip)))
        return signalPassFailure();
  }
};

} // namespace
