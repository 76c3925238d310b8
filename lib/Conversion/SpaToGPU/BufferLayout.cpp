//===- BufferLayout.cpp - the buffer layouts the GPU kernels index --------===//
//
// Strided operands let a caller pass views (PyTorch's token-major
// `q.view(b, n, h, d).transpose(1, 2)`, a slice of a fused qkv projection)
// without copying them first. The kernels need nothing but the strides to
// be static; the rules below keep their 16-byte copies aligned and their
// writes race-free. Identity layouts pass unchanged (they meet every rule
// for the shapes the kernels take: D and Dv multiples of 16).
//
//===----------------------------------------------------------------------===//

#include "BufferLayout.h"

#include "mlir/IR/BuiltinTypes.h"

#include <algorithm>
#include <numeric>

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::gpu_kernel;

namespace {

struct NamedBuffer {
  StringRef name;
  Value value;
  bool written;
};

/// The op's buffers under the names the op verifier uses.
SmallVector<NamedBuffer> namedBuffers(BandedAttentionOpInterface op) {
  if (auto fwd = dyn_cast<AttentionOp>(op.getOperation())) {
    SmallVector<NamedBuffer> buffers = {{"query", fwd.getQuery(), false},
                                        {"key", fwd.getKey(), false},
                                        {"value", fwd.getValue(), false},
                                        {"output", fwd.getOutput(), true}};
    if (fwd.getOutputs().size() == 2)
      buffers.push_back({"log-sum-exp", fwd.getLogSumExp(), true});
    return buffers;
  }
  auto grad = cast<AttentionGradOp>(op.getOperation());
  return {{"query", grad.getQuery(), false},
          {"key", grad.getKey(), false},
          {"value", grad.getValue(), false},
          {"output", grad.getOutput(), false},
          {"log-sum-exp", grad.getLogSumExp(), false},
          {"output gradient", grad.getOutputGrad(), false},
          {"query gradient", grad.getQueryGrad(), true},
          {"key gradient", grad.getKeyGrad(), true},
          {"value gradient", grad.getValueGrad(), true}};
}

std::string listText(ArrayRef<int64_t> values) {
  std::string text = "[";
  for (auto [i, v] : llvm::enumerate(values))
    text += (i ? ", " : "") + std::to_string(v);
  return text + "]";
}

/// True when no two in-bounds indices of `shape` reach one offset: the
/// dimensions longer than 1, sorted by stride, each step past the whole
/// extent of the smaller ones (a sufficient test; PyTorch's views pass it).
bool isNonOverlapping(ArrayRef<int64_t> shape, ArrayRef<int64_t> strides) {
  SmallVector<unsigned> dims;
  for (unsigned d = 0; d < shape.size(); ++d)
    if (shape[d] > 1)
      dims.push_back(d);
  llvm::sort(dims, [&](unsigned a, unsigned b) {
    return strides[a] < strides[b];
  });
  int64_t extent = 1; // one past the largest offset of the smaller dims
  for (unsigned d : dims) {
    if (strides[d] < extent)
      return false;
    extent = strides[d] * (shape[d] - 1) + extent;
  }
  return true;
}

LogicalResult checkBuffer(Operation *op, const NamedBuffer &buffer) {
  auto type = cast<MemRefType>(buffer.value.getType());
  if (!type.hasStaticShape()) {
    // A forward op may leave its sequence lengths (dimension 2) to run
    // time: the kernel takes them as arguments and views contiguous
    // buffers (the launcher fills in the rest, runtime/lengths.py).
    bool onlyLength =
        type.getRank() >= 3 && type.getLayout().isIdentity() &&
        llvm::all_of(llvm::seq<int64_t>(0, type.getRank()), [&](int64_t d) {
          return d == 2 || !type.isDynamicDim(d);
        });
    if (isa<AttentionOp>(op) && onlyLength)
      return success();
    return op->emitOpError("the GPU path needs static shapes (a forward op "
                           "may leave dimension 2, the sequence length, "
                           "dynamic in an identity layout); ")
           << buffer.name << " is " << type;
  }
  if (type.getLayout().isIdentity())
    return success();
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset) ||
      llvm::any_of(strides, ShapedType::isDynamic) || offset != 0)
    return op->emitOpError("the GPU path needs an identity layout or a "
                           "strided layout with static strides and offset "
                           "0 (the kernel gets a pointer to the first "
                           "element); ")
           << buffer.name << " is " << type;
  ArrayRef<int64_t> shape = type.getShape();
  if (strides.back() != 1 && shape.back() > 1)
    return op->emitOpError()
           << buffer.name << " has strides " << listText(strides)
           << ": the GPU kernels read and write rows as contiguous vectors, "
              "so the innermost stride must be 1";
  if (llvm::any_of(strides, [](int64_t s) { return s < 0; }))
    return op->emitOpError()
           << buffer.name << " has strides " << listText(strides)
           << ": the GPU path needs nonnegative strides";
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  if (type.getRank() == 4) {
    int64_t quantum = kVectorCopyBytes / elementBytes;
    for (unsigned d = 0; d + 1 < shape.size(); ++d)
      if (shape[d] > 1 && strides[d] % quantum)
        return op->emitOpError()
               << buffer.name << " has strides " << listText(strides)
               << ": stride " << strides[d] << " of dimension " << d
               << " is not a multiple of " << quantum << " elements ("
               << kVectorCopyBytes << " bytes of " << type.getElementType()
               << "), so the kernels' 16-byte vector and cp.async copies "
                  "would be misaligned; pad the rows or copy the buffer "
                  "into a contiguous one";
  }
  if (buffer.written && !isNonOverlapping(shape, strides))
    return op->emitOpError()
           << buffer.name << " has strides " << listText(strides)
           << " for shape " << listText(shape)
           << ", which map two elements to one address; a buffer the "
              "kernels write needs a non-overlapping layout";
  return success();
}

} // namespace

LogicalResult
mlir::spa::gpu_kernel::checkBufferLayouts(BandedAttentionOpInterface op) {
  for (const NamedBuffer &buffer : namedBuffers(op))
    if (failed(checkBuffer(op, buffer)))
      return failure();
  return success();
}
