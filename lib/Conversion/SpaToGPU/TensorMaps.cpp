//===- TensorMaps.cpp - TMA tile copies through launcher-encoded maps -----===//

#include "TensorMaps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

FailureOr<TensorMapArg> describeTileMap(StringRef name, StringRef of,
                                        MemRefType type, int64_t rows) {
  Type element = type.getElementType();
  // A dynamic sequence length (dimension 2, identity layout) leaves the
  // map's rows and the strides above them to the launcher: -1 here
  // (runtime/lengths.py fills them in per call).
  bool dynamicRows = type.getRank() == 4 && type.isDynamicDim(2) &&
                     type.getLayout().isIdentity() &&
                     type.getNumDynamicDims() == 1;
  if (type.getRank() != 4 || (!type.hasStaticShape() && !dynamicRows) ||
      !(element.isF16() || element.isBF16()))
    return failure();
  auto [strides, offset] = type.getStridesAndOffset();
  ArrayRef<int64_t> shape = type.getShape(); // B, H, N, W
  // The map starts at the call's pointer: a static offset would be lost.
  if (offset != 0 || strides[3] != 1 || shape[3] % 64 != 0 || rows < 1 ||
      rows > 256)
    return failure();
  TensorMapArg map;
  map.name = name.str();
  map.of = of.str();
  map.dtype = element.isF16() ? "f16" : "bf16";
  map.dims = {shape[3], dynamicRows ? kLauncherFills : shape[2], shape[1],
              shape[0]};
  // The driver takes strides of dimensions 1.. in bytes, 16-byte multiples.
  for (int64_t d : {2, 1, 0}) {
    if (dynamicRows && d < 2) {
      map.stridesBytes.push_back(kLauncherFills);
      continue;
    }
    int64_t bytes = strides[d] * 2;
    if (ShapedType::isDynamic(strides[d]) || bytes <= 0 || bytes % 16 != 0 ||
        bytes >= (int64_t(1) << 40))
      return failure();
    map.stridesBytes.push_back(bytes);
  }
  // 64 columns of 2 bytes: one 128-byte swizzle span per box row.
  map.box = {64, rows, 1, 1};
  map.elementStrides = {1, 1, 1, 1};
  map.swizzleBytes = 128;
  map.l2PromotionBytes = 128;
  map.oobFill = "zero";
  return map;
}

bool describableByTileMaps(ValueRange buffers) {
  return llvm::all_of(buffers, [](Value buffer) {
    return succeeded(
        describeTileMap("", "", cast<MemRefType>(buffer.getType()), 64));
  });
}

SmallVector<int32_t> appendTileMapArgs(ImplicitLocOpBuilder &b,
                                       ArrayRef<TileMapSource> sources,
                                       SmallVectorImpl<std::string> &names,
                                       SmallVectorImpl<Value> &operands,
                                       SmallVectorImpl<TensorMapArg> &maps) {
  auto pointerType = LLVM::LLVMPointerType::get(b.getContext());
  SmallVector<int32_t> indices;
  for (const TileMapSource &source : sources) {
    FailureOr<TensorMapArg> map = describeTileMap(
        source.name.str() + "_map", source.name,
        cast<MemRefType>(source.buffer.getType()), source.rows);
    assert(succeeded(map) && "the caller checked describableByTileMaps");
    indices.push_back(operands.size());
    names.push_back(map->name);
    maps.push_back(*map);
    operands.push_back(LLVM::ZeroOp::create(b, pointerType));
  }
  return indices;
}

void markTensorMapArgs(Operation *kernel, ArrayRef<int32_t> indices) {
  if (indices.empty())
    return;
  kernel->setAttr(KernelLaunch::kTensorMapArgsAttrName,
                  DenseI32ArrayAttr::get(kernel->getContext(), indices));
}

/// `body(block, coordinates)` for each 64-column box of rows [row0, ...) of
/// (batch, head), `width` columns: the box's i32 coordinates (column, row,
/// head, batch), as loadTileByMap and prefetchTileByMap address it.
static void
forEachTileBox(ImplicitLocOpBuilder &b, Value batch, Value head, Value row0,
               int64_t width,
               function_ref<void(int64_t, SmallVector<Value> &)> body) {
  auto i32 = [&](Value index) {
    return arith::IndexCastOp::create(b, b.getI32Type(), index);
  };
  Value row = i32(row0), h = i32(head), n = i32(batch);
  for (int64_t block = 0; block < width / 64; ++block) {
    SmallVector<Value> coordinates = {
        arith::ConstantIntOp::create(b, b.getI32Type(), block * 64), row, h, n};
    body(block, coordinates);
  }
}

/// The i64 shared address of `tile`'s first byte, plus `byteOffset` (an
/// index value) when given: where loadTileByMap and storeRowsByMap address
/// their 64-column boxes from.
static Value sharedTileAddress(ImplicitLocOpBuilder &b, Value tile,
                               Value byteOffset) {
  Type i64 = b.getI64Type();
  Value base = arith::IndexCastOp::create(
      b, i64, memref::ExtractAlignedPointerAsIndexOp::create(b, tile));
  if (!byteOffset)
    return base;
  return arith::AddIOp::create(b, base,
                               arith::IndexCastOp::create(b, i64, byteOffset));
}

void loadTileByMap(ImplicitLocOpBuilder &b, Value map, Value tile,
                   Value stage, Value barrier, Value batch, Value head,
                   Value row0, int64_t rows, int64_t width) {
  GpuArith e{b};
  Type i64 = b.getI64Type();
  Value base = sharedTileAddress(
      b, tile, stage ? e.mul(stage, e.index(rows * width * 2)) : Value());
  auto sharedPtr = LLVM::LLVMPointerType::get(b.getContext(), 3);
  auto clusterPtr = LLVM::LLVMPointerType::get(b.getContext(), 7);
  forEachTileBox(
      b, batch, head, row0, width, [&](int64_t block, SmallVector<Value> &at) {
        Value address = arith::AddIOp::create(
            b, base, arith::ConstantIntOp::create(b, i64, block * rows * 128));
        // The copy's destination is shared::cluster (a lone CTA is a cluster of
        // one); MLIR 22 spells it as address space 7.
        Value destination = LLVM::AddrSpaceCastOp::create(
            b, clusterPtr, LLVM::IntToPtrOp::create(b, sharedPtr, address));
        NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
            b, destination, map, at, barrier,
            /*im2colOffsets=*/ValueRange{}, /*multicastMask=*/Value(),
            /*l2CacheHint=*/Value(), NVVM::TMALoadMode::TILE,
            /*isCTAOnly=*/false, /*group=*/nullptr, /*predicate=*/Value());
      });
}

void storeRowsByMap(ImplicitLocOpBuilder &b, Value map, Value tile,
                    Value tileRow, Value batch, Value head, Value row0,
                    int64_t width) {
  GpuArith e{b};
  Type i64 = b.getI64Type();
  int64_t tileRows = cast<MemRefType>(tile.getType()).getDimSize(1);
  // Row r of box `block` sits at block * tileRows * 128 + r * 128 bytes;
  // the box's first row is a multiple of 8 rows (1024 bytes) in, so the
  // 128-byte swizzle the map applies is the staging's own (chunk ^ r % 8).
  Value base = sharedTileAddress(b, tile, e.mul(tileRow, e.index(128)));
  auto sharedPtr = LLVM::LLVMPointerType::get(b.getContext(), 3);
  forEachTileBox(
      b, batch, head, row0, width, [&](int64_t block, SmallVector<Value> &at) {
        Value address = arith::AddIOp::create(
            b, base,
            arith::ConstantIntOp::create(b, i64, block * tileRows * 128));
        NVVM::CpAsyncBulkTensorSharedCTAToGlobalOp::create(
            b, map, LLVM::IntToPtrOp::create(b, sharedPtr, address), at,
            /*l2CacheHint=*/Value(), NVVM::TMAStoreMode::TILE,
            /*predicate=*/Value());
      });
  NVVM::CpAsyncBulkCommitGroupOp::create(b);
}

void waitStoreReads(ImplicitLocOpBuilder &b) {
  NVVM::CpAsyncBulkWaitGroupOp::create(b, 0, b.getUnitAttr());
}

void prefetchTileByMap(ImplicitLocOpBuilder &b, Value map, Value batch,
                       Value head, Value row0, int64_t width) {
  forEachTileBox(b, batch, head, row0, width,
                 [&](int64_t, SmallVector<Value> &at) {
                   NVVM::CpAsyncBulkTensorPrefetchOp::create(
                       b, map, at, /*im2colOffsets=*/ValueRange{},
                       NVVM::TMALoadMode::TILE, /*l2CacheHint=*/Value());
                 });
}

void prefetchSuccessorTiles(ImplicitLocOpBuilder &b, const KernelContext &k,
                            ArrayRef<MapTile> tiles, int64_t rows) {
  assert(k.successorExists && "the successor's entry was not loaded");
  emitIf(b, k.successorExists, [&](ImplicitLocOpBuilder &ib) {
    Value row0 = GpuArith{ib}.mul(k.successorTile, GpuArith{ib}.index(rows));
    for (const MapTile &tile : tiles)
      prefetchTileByMap(ib, tile.map, k.successorBatch, k.successorHead, row0,
                        tile.width);
  });
}

void prefetchTensorMap(ImplicitLocOpBuilder &b, Value map) {
  NVVM::PrefetchOp::create(b, /*cacheLevel=*/nullptr,
                           /*evictPriority=*/nullptr, map,
                           /*predicate=*/Value(), b.getUnitAttr());
}

} // namespace mlir::spa::gpu_kernel
