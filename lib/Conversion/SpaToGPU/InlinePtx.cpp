//===- InlinePtx.cpp - inline PTX where MLIR 22 has no op -----------------===//

#include "InlinePtx.h"
#include "KernelContext.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include <string>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

Value unaryF32Ptx(ImplicitLocOpBuilder &b, StringRef ptx, Value x) {
  return NVVM::InlinePtxOp::create(b, TypeRange{b.getF32Type()},
                                   ValueRange{x}, ValueRange{}, ptx, Value())
      .getResult(0);
}

/// ex2.approx maps -inf to +0, which the masked softmax relies on.
Value GpuArith::exp2(Value x) {
  return unaryF32Ptx(b, "ex2.approx.ftz.f32 $0, $1;", x);
}

void ptxStatement(ImplicitLocOpBuilder &b, StringRef ptx) {
  LLVM::InlineAsmOp::create(b, TypeRange{}, ValueRange{}, ptx, "", true,
                            false, LLVM::tailcallkind::TailCallKind::None,
                            LLVM::AsmDialectAttr(), ArrayAttr());
}

SmallVector<Value> passThroughF32(ImplicitLocOpBuilder &b, StringRef ptx,
                                  ArrayRef<Value> values,
                                  ArrayRef<Value> alsoReads) {
  int64_t n = values.size();
  std::string constraints;
  for (int64_t i = 0; i < n; ++i)
    constraints += (i ? ",=f" : "=f");
  for (int64_t i = 0; i < n; ++i)
    constraints += "," + std::to_string(i);
  for (size_t i = 0; i < alsoReads.size(); ++i)
    constraints += ",r";
  SmallVector<Value> operands(values);
  operands.append(alsoReads.begin(), alsoReads.end());
  Type f32 = b.getF32Type();
  auto structType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(n, f32));
  Value result =
      LLVM::InlineAsmOp::create(b, structType, operands, ptx, constraints, true,
                                false, LLVM::tailcallkind::TailCallKind::None,
                                LLVM::AsmDialectAttr(), ArrayAttr())
          .getRes();
  SmallVector<Value> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, result, i));
  return out;
}

} // namespace mlir::spa::gpu_kernel
