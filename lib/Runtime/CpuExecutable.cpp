//===- CpuExecutable.cpp - JIT-compiled spa modules on the CPU ------------===//

#include "spa/Runtime/CpuExecutable.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

using namespace mlir;
using namespace mlir::spa;

std::optional<ElementKind> mlir::spa::elementKindOf(Type type) {
  if (type.isF32())
    return ElementKind::F32;
  if (type.isF16())
    return ElementKind::F16;
  if (type.isBF16())
    return ElementKind::BF16;
  return std::nullopt;
}

size_t mlir::spa::elementBytes(ElementKind kind) {
  return kind == ElementKind::F32 ? 4 : 2;
}

int64_t HostBuffer::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

CpuExecutable::~CpuExecutable() = default;

static bool signatureOf(TypeRange types, std::vector<BufferSignature> &out,
                        StringRef what, std::string &error) {
  for (auto [index, type] : llvm::enumerate(types)) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    std::optional<ElementKind> kind =
        tensor ? elementKindOf(tensor.getElementType()) : std::nullopt;
    if (!kind) {
      error = (what + " #" + llvm::Twine(index) +
               " must be a ranked tensor of f32, f16 or bf16")
                  .str();
      return false;
    }
    out.push_back({*kind, std::vector<int64_t>(tensor.getShape().begin(),
                                               tensor.getShape().end())});
  }
  return true;
}

/// The entry argument `value` is (through tensor.cast), or -1.
static int argumentIndex(Value value, func::FuncOp fn) {
  while (auto cast = value.getDefiningOp<tensor::CastOp>())
    value = cast.getSource();
  auto arg = dyn_cast<BlockArgument>(value);
  if (!arg || arg.getOwner() != &fn.getBody().front())
    return -1;
  return arg.getArgNumber();
}

/// The dimension equalities spa.attention needs between entry arguments
/// (static pairs the verifier already checked; they cost nothing here).
static std::vector<DimensionConstraint> dimensionConstraints(func::FuncOp fn) {
  std::vector<DimensionConstraint> constraints;
  fn.walk([&](AttentionOp op) {
    // (operand, dimension) pairs that must agree, by meaning.
    struct Dim {
      Value operand;
      unsigned dim;
    };
    SmallVector<Value> outs = llvm::to_vector(op.getOutputs());
    Value out = outs[0], lse = outs.size() > 1 ? outs[1] : Value();
    SmallVector<std::pair<std::string, SmallVector<Dim>>> groups = {
        {"batch (dimension 0)",
         {{op.getQuery(), 0}, {op.getKey(), 0}, {op.getValue(), 0},
          {out, 0}}},
        {"key/value heads (dimension 1)",
         {{op.getKey(), 1}, {op.getValue(), 1}}},
        {"key length (dimension 2)", {{op.getKey(), 2}, {op.getValue(), 2}}},
        {"query length (dimension 2)", {{op.getQuery(), 2}, {out, 2}}},
        {"head dimension D (dimension 3)",
         {{op.getQuery(), 3}, {op.getKey(), 3}}},
        {"value dimension Dv (dimension 3)",
         {{op.getValue(), 3}, {out, 3}}}};
    if (lse) {
      groups[0].second.push_back({lse, 0});
      groups[3].second.push_back({lse, 2});
    }
    for (auto &[what, dims] : groups) {
      SmallVector<std::pair<int, unsigned>> args;
      for (const Dim &d : dims) {
        int arg = argumentIndex(d.operand, fn);
        if (arg >= 0)
          args.push_back({arg, d.dim});
      }
      for (size_t i = 1; i < args.size(); ++i)
        constraints.push_back({unsigned(args[0].first), args[0].second,
                               unsigned(args[i].first), args[i].second, what});
    }
  });
  return constraints;
}

std::unique_ptr<CpuExecutable>
CpuExecutable::compile(ModuleOp module, StringRef entry,
                       const CpuPipelineOptions &options, std::string &error) {
  static bool nativeTargetReady = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)nativeTargetReady;

  auto fn = module.lookupSymbol<func::FuncOp>(entry);
  if (!fn) {
    error = ("no function @" + entry + " in the module").str();
    return nullptr;
  }
  std::unique_ptr<CpuExecutable> exe(new CpuExecutable());
  exe->entry = entry.str();
  FunctionType type = fn.getFunctionType();
  if (!signatureOf(type.getInputs(), exe->args, "argument", error) ||
      !signatureOf(type.getResults(), exe->results, "result", error))
    return nullptr;
  exe->constraints = dimensionConstraints(fn);

  auto start = std::chrono::steady_clock::now();
  fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
              UnitAttr::get(module.getContext()));
  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  module.getContext()->appendDialectRegistry(registry);
  PassManager pm(module.getContext());
  buildCpuPipeline(pm, options);
  if (failed(pm.run(module))) {
    error = "lowering through spa-to-llvm-cpu failed";
    return nullptr;
  }
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder) {
    error = llvm::toString(tmBuilder.takeError());
    return nullptr;
  }
  auto tm = tmBuilder->createTargetMachine();
  if (!tm) {
    error = llvm::toString(tm.takeError());
    return nullptr;
  }
  auto transformer = makeOptimizingTransformer(3, 0, tm->get());
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  // memref.copy lowers to a call into MLIR's C runner utilities.
  SmallVector<StringRef> sharedLibs = {SPA_C_RUNNER_UTILS};
  engineOptions.sharedLibPaths = sharedLibs;
  auto engine = ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!engine) {
    error = "JIT compilation failed: " + llvm::toString(engine.takeError());
    return nullptr;
  }
  exe->engine = std::move(*engine);
  exe->compileMs = std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  return exe;
}

namespace {
/// A memref descriptor: {allocated, aligned, offset, sizes[r], strides[r]},
/// every field 8 bytes.
std::vector<int64_t> describe(const char *data, ArrayRef<int64_t> shape) {
  std::vector<int64_t> words(3 + 2 * shape.size(), 0);
  words[0] = words[1] = reinterpret_cast<int64_t>(data);
  int64_t stride = 1;
  for (int64_t i = shape.size() - 1; i >= 0; --i) {
    words[3 + i] = shape[i];
    words[3 + shape.size() + i] = stride;
    stride *= shape[i];
  }
  return words;
}
} // namespace

bool CpuExecutable::run(ArrayRef<HostBuffer> inputs,
                        std::vector<HostBuffer> &outputs,
                        std::string &error) const {
  if (inputs.size() != args.size()) {
    error = "expected " + std::to_string(args.size()) + " arguments, got " +
            std::to_string(inputs.size());
    return false;
  }
  std::vector<std::vector<int64_t>> descriptors;
  for (auto [index, input] : llvm::enumerate(inputs)) {
    const BufferSignature &sig = args[index];
    bool shapeOk = input.shape.size() == sig.shape.size();
    for (size_t d = 0; shapeOk && d < sig.shape.size(); ++d)
      shapeOk = ShapedType::isDynamic(sig.shape[d]) ||
                sig.shape[d] == input.shape[d];
    if (input.kind != sig.kind || !shapeOk ||
        input.bytes.size() !=
            static_cast<size_t>(input.numElements()) * elementBytes(input.kind)) {
      error = "argument #" + std::to_string(index) +
              " does not match the entry function's type";
      return false;
    }
    descriptors.push_back(describe(input.bytes.data(), input.shape));
  }
  for (const DimensionConstraint &c : constraints) {
    int64_t a = inputs[c.argA].shape[c.dimA], b = inputs[c.argB].shape[c.dimB];
    if (a != b) {
      error = "arguments #" + std::to_string(c.argA) + " and #" +
              std::to_string(c.argB) + " disagree on the " + c.what + ": " +
              std::to_string(a) + " vs " + std::to_string(b);
      return false;
    }
  }
  size_t resultWords = 0;
  for (const BufferSignature &sig : results)
    resultWords += 3 + 2 * sig.shape.size();
  // One result comes back as a descriptor, several as a struct of them; both
  // through a pointer passed first.
  std::vector<int64_t> resultStruct(resultWords, 0);
  std::vector<void *> pointers;
  if (resultWords)
    pointers.push_back(resultStruct.data());
  for (auto &d : descriptors)
    pointers.push_back(d.data());
  SmallVector<void *> packed;
  for (void *&p : pointers)
    packed.push_back(&p);
  if (llvm::Error err = engine->invokePacked("_mlir_ciface_" + entry, packed)) {
    error = llvm::toString(std::move(err));
    return false;
  }
  outputs.clear();
  size_t offset = 0;
  for (const BufferSignature &sig : results) {
    int64_t rank = sig.shape.size();
    const int64_t *w = &resultStruct[offset];
    HostBuffer out;
    out.kind = sig.kind;
    out.shape.assign(w + 3, w + 3 + rank);
    size_t bytes = elementBytes(sig.kind);
    out.bytes.resize(out.numElements() * bytes);
    const char *aligned = reinterpret_cast<const char *>(w[1]);
    for (int64_t linear = 0; linear < out.numElements(); ++linear) {
      int64_t rest = linear, position = w[2];
      for (int64_t dim = rank - 1; dim >= 0; --dim) {
        position += (rest % out.shape[dim]) * w[3 + rank + dim];
        rest /= out.shape[dim];
      }
      std::memcpy(out.bytes.data() + linear * bytes, aligned + position * bytes,
                  bytes);
    }
    // Results are fresh allocations owned by the caller.
    std::free(reinterpret_cast<void *>(w[0]));
    outputs.push_back(std::move(out));
    offset += 3 + 2 * rank;
  }
  return true;
}
