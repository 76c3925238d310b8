//===- BufferizableOpInterfaceImpl.cpp - spa bufferization ----------------===//
//
// `spa.attention` is destination-passing: each `outs` operand bufferizes to
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
struct AttentionOpBufferization
    : public DstBufferizableOpInterfaceExternalModel<AttentionOpBufferization,
                                                     spa::AttentionOp> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &opOperand,
                              const AnalysisState &state) const {
    return !cast<DestinationStyleOpInterface>(op).isDpsInit(&opOperand);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto attention = cast<spa::AttentionOp>(op);
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
    ValueRange all(buffers);
    unsigned numInputs = attention.getBandBounds() ? 4 : 3;
    ValueRange outputs = all.drop_front(numInputs);
    spa::AttentionOp::create(
        rewriter, op->getLoc(), TypeRange{}, all[0], all[1], all[2],
        numInputs == 4 ? all[3] : Value(), outputs, attention.getBands(),
        attention.getScaleAttr());
    replaceOpWithBufferizedValues(rewriter, op, outputs);
    return success();
  }
};
} // namespace

void mlir::spa::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, spa::SpaDialect *) {
    spa::AttentionOp::attachInterface<AttentionOpBufferization>(*ctx);
  });
}
