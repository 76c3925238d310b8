//===- TensorMapParams.cpp - tensor maps as grid-constant parameters ------===//
//
// -spa-tensor-map-params (Passes.td): after convert-gpu-to-nvvm, the kernel
// parameters a generator listed in `spa.tensor_map_args` become 128-byte,
// 64-byte-aligned byval grid constants, the form cp.async.bulk.tensor reads
// a CUtensorMap from. The marking is a function attribute because upstream's
// gpu.func lowering keeps function attributes but not spa's argument
// attributes, and NVVM's verifier accepts nvvm.grid_constant only on an
// nvvm.kernel, which a gpu.func is not yet.
//
//===----------------------------------------------------------------------===//

#include "spa/Conversion/SpaToGPU/LaunchContract.h"
#include "spa/Conversion/SpaToGPU/SpaToGPU.h"

namespace mlir::spa {
#define GEN_PASS_DEF_SPATENSORMAPPARAMS
#include "spa/Conversion/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kTensorMapArgs =
    mlir::spa::KernelLaunch::kTensorMapArgsAttrName;
constexpr int64_t kTensorMapBytes = 128;

struct SpaTensorMapParamsPass
    : public mlir::spa::impl::SpaTensorMapParamsBase<SpaTensorMapParamsPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Builder b(ctx);
    auto byvalType = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8),
                                              kTensorMapBytes);
    WalkResult result = getOperation().walk([&](LLVM::LLVMFuncOp func) {
      auto indices = func->getAttrOfType<DenseI32ArrayAttr>(kTensorMapArgs);
      if (!indices)
        return WalkResult::advance();
      if (!func->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName())) {
        func.emitOpError() << kTensorMapArgs
                           << " on a function that is not an nvvm.kernel";
        return WalkResult::interrupt();
      }
      for (int32_t index : indices.asArrayRef()) {
        if (index < 0 || index >= int32_t(func.getNumArguments())) {
          func.emitOpError() << kTensorMapArgs << ": argument " << index
                             << " does not exist (the kernel has "
                             << func.getNumArguments() << ")";
          return WalkResult::interrupt();
        }
        if (!isa<LLVM::LLVMPointerType>(func.getArgument(index).getType())) {
          func.emitOpError() << kTensorMapArgs << ": argument " << index
                             << " is " << func.getArgument(index).getType()
                             << ", a tensor map must be !llvm.ptr";
          return WalkResult::interrupt();
        }
        func.setArgAttr(index, LLVM::LLVMDialect::getByValAttrName(),
                        TypeAttr::get(byvalType));
        func.setArgAttr(index, LLVM::LLVMDialect::getAlignAttrName(),
                        b.getI64IntegerAttr(64));
        func.setArgAttr(index, NVVM::NVVMDialect::getGridConstantAttrName(),
                        b.getUnitAttr());
      }
      func->removeAttr(kTensorMapArgs);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
