//===- LaunchContract.h - how a generated kernel is launched ----*- C++ -*-===//
//
// The one description of a generated kernel's launch, shared by the
// generator (which attaches it to the gpu.func as `spa.launch`) and the
// CUDA artifact writer (which reads it back and writes launch.json for
// runtimes without MLIR): grid, block, shared memory, the argument order and
// roles, the constant buffers, the band table and tile shape it was built
// for. Both sides go through this struct, so they cannot disagree on a key.
//
// launch.json (format "spa-cuda-artifact-2", docs/gpu.md) keeps its keys:
// `shared_bytes` is the dynamic shared memory to launch with,
// `kernel_shared_bytes` the kernel's total (static + dynamic). Each kernel
// also names its `role` (forward, or dq / dkdv of a gradient op;
// preprocess / dkdv_dq / dq_convert with deterministic = false) and
// the `op` it belongs to (the order of the spa ops in the module); a
// module's kernels are listed in launch order. Each argument lists its
// `strides` in elements (the layout of its memref type: contiguous, or the
// static strided layout the caller's views have). An argument of kind
// `tensor_map` is a TMA descriptor (CUtensorMap) of another buffer
// argument (`of`): the launcher encodes it per call from that buffer's
// pointer and passes its 128 bytes as a grid-constant parameter
// (SpaLauncher.h, ABI 2). A kernel compiled with programmatic-launch says
// `programmatic_launch: true` (absent otherwise); ABI 3's launcher then
// launches it with programmatic stream serialization.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_CONVERSION_SPATOGPU_LAUNCHCONTRACT_H
#define SPA_CONVERSION_SPATOGPU_LAUNCHCONTRACT_H

#include "spa/Conversion/SpaToGPU/GpuOptions.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <string>

namespace mlir::spa {

/// A launch.json number the launcher fills in per call from the call's
/// lengths (a kernel with run-time lengths: its grid, a tensor map's rows
/// and the strides above them; python/spa/runtime/lengths.py).
constexpr int64_t kLauncherFills = -1;

/// What a kernel argument is to the launcher.
enum class KernelArgRole {
  Input,     ///< a device buffer the caller provides (q, k, v)
  Output,    ///< a device buffer the kernel writes (out, log-sum-exp)
  Constant,  ///< a table whose values travel in the contract (bounds, work,
             ///< score_grad_slots)
  Length,    ///< query_len / key_len: an i64 the launcher passes by value
  Scratch,   ///< a device buffer the launcher allocates for one call and
             ///< shares between the op's kernels (the backward's delta and,
             ///< with deterministic = false, dq_accum, with score-grads =
             ///< store, score_grad, with interleaved-dq, grad_sync);
             ///< every element a kernel reads was
             ///< written by an earlier kernel of the op
  TensorMap, ///< a CUtensorMap of buffer `of`, encoded per call (TensorMapArg)
};

/// A TMA tensor map the launcher encodes for each call with
/// cuTensorMapEncodeTiled: the call's pointer of buffer `of`, then these
/// fields (innermost dimension first, as the driver takes them). The kernel
/// receives it as a 128-byte, 64-byte-aligned grid-constant parameter.
struct TensorMapArg {
  std::string name;  ///< the kernel argument ("key_map", ...)
  std::string of;    ///< the buffer argument it describes ("key", ...)
  std::string dtype; ///< "bf16", "f16" or "f32"
  SmallVector<int64_t> dims;           ///< elements, innermost first
  SmallVector<int64_t> stridesBytes;   ///< dims.size() - 1 byte strides
  SmallVector<int64_t> box;            ///< elements per copy, per dim
  SmallVector<int64_t> elementStrides; ///< 1 each
  int64_t swizzleBytes = 128;          ///< 0, 32, 64 or 128
  int64_t l2PromotionBytes = 128;      ///< 0, 64, 128 or 256
  /// Elements past `dims` read as zeros ("zero") or NaN ("nan").
  std::string oobFill = "zero";

  DictionaryAttr toAttr(MLIRContext *ctx) const;
  static FailureOr<TensorMapArg> fromAttr(DictionaryAttr attr,
                                          std::string &error);
  llvm::json::Object toJson() const;
};

struct KernelLaunch {
  static constexpr llvm::StringLiteral kAttrName = "spa.launch";
  /// The kernel function attribute listing the tensor-map parameters
  /// (argument indices) that -spa-tensor-map-params turns into grid
  /// constants after convert-gpu-to-nvvm.
  static constexpr llvm::StringLiteral kTensorMapArgsAttrName =
      "spa.tensor_map_args";

  std::array<int64_t, 3> grid = {1, 1, 1};
  std::array<int64_t, 3> block = {1, 1, 1};
  int64_t staticSharedBytes = 0;  ///< declared in the kernel
  int64_t dynamicSharedBytes = 0; ///< passed at launch
  /// Argument names in kernel order; their role follows from the name
  /// (argRole).
  SmallVector<std::string> args;
  SmallVector<int32_t> bounds; ///< [Hq][slots][2] distance intervals
  SmallVector<int32_t> work;   ///< [items][3] (batch, head, query tile)
  /// score-grad-layout = compact: the stored dS's slot bases
  /// ([Hq][query tiles][slots][sides]; BackwardConfig::scoreGradSlotBases);
  /// empty for other kernels.
  SmallVector<int32_t> scoreGradSlots;
  Attribute bands;             ///< the #spa.bands the kernel was built for
  std::array<int64_t, 2> tile = {0, 0}; ///< query rows x keys
  /// Persistent kernels (blocks loop over the items): the most blocks worth
  /// launching; 0 for one block an item. With run-time lengths the
  /// launcher launches min(items, maxBlocks).
  int64_t maxBlocks = 0;
  /// The blocks an SM the kernel was compiled for (.minnctapersm: the
  /// `blocks-per-sm` option, or a warp-specialised budget); 0 where ptxas
  /// chose. Informational: what a benchmark records beside the timing.
  int64_t minBlocksPerSM = 0;
  /// programmatic-launch (GridDependency.h): the kernel waits for the
  /// grids before it (griddepcontrol.wait) first, so the launcher may
  /// launch it with programmatic stream serialization (launch.json
  /// `programmatic_launch: true`; absent: a plain launch).
  bool programmaticLaunch = false;
  MmaKind mma = MmaKind::MmaSync;
  /// "forward", or the backward's "dq", "dkdv" (or, with deterministic =
  /// false, "preprocess", "dkdv_dq", "dq_convert"; with score-grads =
  /// store, "preprocess", "dkdv", "dq_stored"; with interleaved-dq,
  /// "preprocess", "dkdv_dq_stored").
  std::string role = "forward";
  /// Which spa op of the module the kernel computes (0, 1, ...).
  int64_t op = 0;
  /// The tensor-map arguments among `args` (their kernel parameters are
  /// `!llvm.ptr` marked grid-constant by -spa-tensor-map-params).
  SmallVector<TensorMapArg, 4> tensorMaps;
  /// A kernel with run-time lengths: the types of its arguments as the op
  /// has them (the kernel's buffer parameters are one-element memrefs at
  /// the first element); empty when the kernel's signature shows them.
  SmallVector<Type> argTypes;
  bool dynamicLengths() const { return !argTypes.empty(); }

  /// The tensor map named `name`, or null.
  const TensorMapArg *tensorMap(StringRef name) const;
  /// The values of constant argument `name` (bounds, work or
  /// score_grad_slots).
  ArrayRef<int32_t> constantValues(StringRef name) const;

  /// The role of argument `name` in a kernel of this role: forward kernels
  /// write output and log_sum_exp; backward kernels read them, write the
  /// query/key/value gradients and share the scratch `delta`.
  KernelArgRole argRole(StringRef name) const;

  /// The `spa.launch` dictionary attached to the gpu.func.
  DictionaryAttr toAttr(MLIRContext *ctx) const;
  /// Reads `spa.launch` back; fails with `error` naming a missing or
  /// mistyped key.
  static FailureOr<KernelLaunch> fromAttr(DictionaryAttr attr,
                                          std::string &error);
  /// One kernel entry of launch.json; argument shapes, element types and
  /// strides (elements; static strided layouts only) come from `func`'s
  /// signature.
  llvm::json::Object toJson(gpu::GPUFuncOp func) const;
};

} // namespace mlir::spa

#endif // SPA_CONVERSION_SPATOGPU_LAUNCHCONTRACT_H
