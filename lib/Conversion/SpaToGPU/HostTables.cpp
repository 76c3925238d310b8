//===- HostTables.cpp - constants and declarations of the host side -------===//

#include "HostTables.h"
#include "KernelSkeleton.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <limits>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

SmallVector<int32_t> boundsTable(const ::spa::plan::BandTable &table,
                                 const KernelConfig &cfg) {
  // Run-time lengths: clipped to the i32 range only (the kernel clips
  // ranges to Nk itself).
  int64_t limit = cfg.dynamicLengths ? std::numeric_limits<int32_t>::max()
                                     : std::max(cfg.queryLen, cfg.keyLen);
  SmallVector<int32_t> values;
  for (const auto &head : table.heads)
    for (int64_t s = 0; s < cfg.slots; ++s) {
      bool used = s < (int64_t)head.size();
      values.push_back(used ? std::min(head[s].lo, limit) : 0);
      values.push_back(used ? std::min(head[s].hi, limit) : 0);
    }
  return values;
}

Value makeConstantTable(ImplicitLocOpBuilder &b, ModuleOp module,
                        SymbolTable &symbols, StringRef name,
                        ArrayRef<int64_t> shape, ArrayRef<int32_t> values) {
  auto type = MemRefType::get(shape, b.getI32Type());
  OpBuilder gb = OpBuilder::atBlockBegin(module.getBody());
  auto global = memref::GlobalOp::create(
      gb, b.getLoc(), gb.getStringAttr(name), gb.getStringAttr("private"),
      TypeAttr::get(type),
      DenseElementsAttr::get(RankedTensorType::get(shape, b.getI32Type()),
                             values),
      gb.getUnitAttr(), gb.getI64IntegerAttr(64));
  symbols.insert(global);
  return memref::GetGlobalOp::create(b, type, global.getSymName());
}

void declareDynamicShared(gpu::GPUModuleOp kernels, Location loc) {
  if (SymbolTable::lookupSymbolIn(kernels, kDynamicSharedName))
    return;
  OpBuilder gb = OpBuilder::atBlockBegin(&kernels.getBodyRegion().front());
  auto workgroup =
      gpu::AddressSpaceAttr::get(gb.getContext(), gpu::AddressSpace::Workgroup);
  memref::GlobalOp::create(
      gb, loc, gb.getStringAttr(kDynamicSharedName), StringAttr(),
      TypeAttr::get(MemRefType::get({0}, gb.getI8Type(),
                                    MemRefLayoutAttrInterface(), workgroup)),
      Attribute(), UnitAttr(), gb.getI64IntegerAttr(1024));
}

} // namespace mlir::spa::gpu_kernel
