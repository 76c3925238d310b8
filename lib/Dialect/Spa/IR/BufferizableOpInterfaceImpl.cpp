//===- BufferizableOpInterfaceImpl.cpp - spa bufferization ----------------===//
//
// `spa.attention` and `spa.attention_grad` are destination-passing: each `outs` operand bufferizes to
// the buffer its result lives in. The destinations are fully overwritten, so
// they are not reads; that lets One-Shot Bufferize reuse an init buffer
// without copying it first.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/BufferizableOpInterfaceImpl.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {
/// `spa.attention` and `spa.attention_grad`: the same op on the buffers,
/// with no results (its operand segments and attributes carry over).
template <typename OpTy>
struct BandedAttentionBufferization
    : public DstBufferizableOpInterfaceExternalModel<
          BandedAttentionBufferization<OpTy>, OpTy> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &opOperand,
                              const AnalysisState &state) const {
    return !cast<DestinationStyleOpInterface>(op).isDpsInit(&opOperand);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    SmallVector<Value> buffers;
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<TensorType>(operand.get().getType())) {
        buffers.push_back(operand.get());
        continue;
      }
      FailureOr<Value> buffer =
          getBuffer(rewriter, operand.get(), options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    OperationState bufferized(op->getLoc(), op->getName(), buffers,
                              TypeRange{}, op->getAttrs());
    rewriter.create(bufferized);
    SmallVector<Value> outputs;
    for (OpOperand &init : cast<OpTy>(op).getDpsInitsMutable())
      outputs.push_back(buffers[init.getOperandNumber()]);
    replaceOpWithBufferizedValues(rewriter, op, outputs);
    return success();
  }
};
} // namespace

void mlir::spa::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, spa::SpaDialect *) {
    spa::AttentionOp::attachInterface<
        BandedAttentionBufferization<spa::AttentionOp>>(*ctx);
    spa::AttentionGradOp::attachInterface<
        BandedAttentionBufferization<spa::AttentionGradOp>>(*ctx);
  });
}
