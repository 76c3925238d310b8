//===- CpuExecutable.h - JIT-compiled spa modules on the CPU ----*- C++ -*-===//
//
// Compiles a module through `spa-to-llvm-cpu` and calls its entry function
// with host buffers. Shared by spa-run and the Python bindings so both run
// the same pipeline and the same calling convention (MLIR's C interface:
// memref descriptors by pointer, results through a pointer in front).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_RUNTIME_CPUEXECUTABLE_H
#define SPA_RUNTIME_CPUEXECUTABLE_H

#include "spa/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
namespace spa {

enum class ElementKind { F32, F16, BF16 };

/// The kind of an f32, f16 or bf16 element type; nullopt for any other.
std::optional<ElementKind> elementKindOf(Type type);

/// Bytes per element of `kind`.
size_t elementBytes(ElementKind kind);

/// A dense, row-major host array holding elements of `kind`.
struct HostBuffer {
  ElementKind kind = ElementKind::F32;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
  int64_t numElements() const;
};

/// A borrowed argument: C-contiguous row-major data of `bytes` bytes.
struct BufferView {
  ElementKind kind = ElementKind::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  size_t bytes = 0;
};

/// A result the caller owns: C-contiguous row-major `data` inside the
/// malloc'd `allocation`, which the caller frees with std::free.
struct ResultBuffer {
  ElementKind kind = ElementKind::F32;
  std::vector<int64_t> shape;
  void *allocation = nullptr;
  void *data = nullptr;
};

/// Expected element kind and shape (kDynamic for dynamic dims) of an
/// argument or result.
struct BufferSignature {
  ElementKind kind;
  std::vector<int64_t> shape;
};

/// The signatures of ranked f32/f16/bf16 tensor `types` appended to `out`;
/// false and `error` ("<what> #i must be ...") for any other type.
bool tensorSignatures(TypeRange types, std::vector<BufferSignature> &out,
                      StringRef what, std::string &error);

/// Two dynamic dimensions of the entry's arguments that an op needs equal
/// (say, the key length of k and of v): checked on every call, since the
/// verifier cannot see them and the generated code would read out of
/// bounds.
struct DimensionConstraint {
  unsigned argA, dimA, argB, dimB;
  std::string what; ///< "key length (dimension 2)", ...
};

/// A function the JIT-compiled code calls but the module only declares
/// (an outlined attention a host module calls through its C interface,
/// `_mlir_ciface_<name>`): resolved to `address` in this process.
struct ExternalSymbol {
  std::string name; ///< the symbol, e.g. "_mlir_ciface_main_attention_0"
  void *address = nullptr;
};

/// What the JIT needs beyond the pipeline's options.
struct JitOptions {
  std::vector<ExternalSymbol> externals;
  /// Keep the compiled object for `writeObject`: position independent, for
  /// the target's baseline CPU (it may run on another machine).
  bool keepObject = false;
};

class CpuExecutable {
public:
  ~CpuExecutable();

  /// Lowers `module` in place and JIT-compiles it. The entry function must
  /// take and return ranked tensors of f32, f16 or bf16. On failure returns
  /// null and sets `error` (MLIR diagnostics go to the context's handler).
  static std::unique_ptr<CpuExecutable>
  compile(ModuleOp module, StringRef entry, const CpuPipelineOptions &options,
          std::string &error);

  /// As `compile`, for several entry functions of one module (a layer's
  /// forward and gradient): one lowering and one JIT, shared by the
  /// returned executables (in the order of `entries`; empty on failure).
  static std::vector<std::unique_ptr<CpuExecutable>>
  compileEntries(ModuleOp module, ArrayRef<std::string> entries,
                 const CpuPipelineOptions &options, std::string &error,
                 const JitOptions &jit = {});

  /// Writes the JIT's object file (compiled with `keepObject`) to `path`,
  /// for linking into a shared library; false and `error` otherwise.
  bool writeObject(StringRef path, std::string &error) const;

  const std::vector<BufferSignature> &getArguments() const { return args; }
  const std::vector<BufferSignature> &getResults() const { return results; }
  double getCompileMilliseconds() const { return compileMs; }

  /// Calls the entry function. Checks kinds and static dims of `inputs`, and
  /// that the dynamic dims the entry's spa.attention and
  /// spa.attention_grad ops relate agree;
  /// returns the results (copied out and freed), or sets `error`.
  bool run(ArrayRef<HostBuffer> inputs, std::vector<HostBuffer> &outputs,
           std::string &error) const;
  /// The same on borrowed inputs, without copies: the results are the
  /// function's own allocations (copied only where not contiguous), owned
  /// by the caller.
  bool runViews(ArrayRef<BufferView> inputs, std::vector<ResultBuffer> &outputs,
                std::string &error) const;

private:
  CpuExecutable() = default;
  std::shared_ptr<ExecutionEngine> engine; ///< shared by compileEntries

  std::string entry;
  std::vector<BufferSignature> args, results;
  std::vector<DimensionConstraint> constraints;
  double compileMs = 0;
  bool keptObject = false;
};

} // namespace spa
} // namespace mlir

#endif // SPA_RUNTIME_CPUEXECUTABLE_H
