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

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/SubtargetFeature.h"

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

bool mlir::spa::tensorSignatures(TypeRange types,
                                 std::vector<BufferSignature> &out,
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

namespace {
/// An operand of a banded attention op and the symbol of each dimension.
struct Role {
  Value operand;
  ArrayRef<StringRef> dims;
};
const StringRef kQueryDims[] = {"B", "Hq", "Nq", "D"};
const StringRef kKeyDims[] = {"B", "Hkv", "Nk", "D"};
const StringRef kValueDims[] = {"B", "Hkv", "Nk", "Dv"};
const StringRef kOutputDims[] = {"B", "Hq", "Nq", "Dv"};
const StringRef kLogSumExpDims[] = {"B", "Hq", "Nq"};

/// The operands of `op` (spa.attention or spa.attention_grad) with their
/// dimension symbols, inputs before destinations.
SmallVector<Role> rolesOf(Operation *op) {
  if (auto forward = dyn_cast<AttentionOp>(op)) {
    SmallVector<Role> roles = {{forward.getQuery(), kQueryDims},
                               {forward.getKey(), kKeyDims},
                               {forward.getValue(), kValueDims},
                               {forward.getOutput(), kOutputDims}};
    if (Value lse = forward.getLogSumExp())
      roles.push_back({lse, kLogSumExpDims});
    return roles;
  }
  auto grad = cast<AttentionGradOp>(op);
  return {{grad.getQuery(), kQueryDims},
          {grad.getKey(), kKeyDims},
          {grad.getValue(), kValueDims},
          {grad.getOutput(), kOutputDims},
          {grad.getLogSumExp(), kLogSumExpDims},
          {grad.getOutputGrad(), kOutputDims},
          {grad.getQueryGrad(), kQueryDims},
          {grad.getKeyGrad(), kKeyDims},
          {grad.getValueGrad(), kValueDims}};
}
} // namespace

/// The dimension equalities spa.attention and spa.attention_grad need
/// between entry arguments (static pairs the verifier already checked; they
/// cost nothing here).
static std::vector<DimensionConstraint> dimensionConstraints(func::FuncOp fn) {
  static const std::pair<StringRef, StringRef> kGroups[] = {
      {"B", "batch (dimension 0)"},
      {"Hkv", "key/value heads (dimension 1)"},
      {"Nk", "key length (dimension 2)"},
      {"Nq", "query length (dimension 2)"},
      {"D", "head dimension D (dimension 3)"},
      {"Dv", "value dimension Dv (dimension 3)"}};
  std::vector<DimensionConstraint> constraints;
  fn.walk([&](BandedAttentionOpInterface op) {
    SmallVector<Role> roles = rolesOf(op);
    for (auto [symbol, what] : kGroups) {
      // (argument, dimension) of every operand naming `symbol` that is an
      // entry argument; all must equal the first.
      SmallVector<std::pair<int, unsigned>> args;
      for (const Role &role : roles)
        for (auto [dim, name] : llvm::enumerate(role.dims)) {
          int arg = name == symbol ? argumentIndex(role.operand, fn) : -1;
          if (arg >= 0)
            args.push_back({arg, unsigned(dim)});
        }
      for (size_t i = 1; i < args.size(); ++i)
        constraints.push_back({unsigned(args[0].first), args[0].second,
                               unsigned(args[i].first), args[i].second,
                               what.str()});
    }
  });
  return constraints;
}

std::unique_ptr<CpuExecutable>
CpuExecutable::compile(ModuleOp module, StringRef entry,
                       const CpuPipelineOptions &options, std::string &error) {
  std::vector<std::unique_ptr<CpuExecutable>> compiled =
      compileEntries(module, {entry.str()}, options, error);
  return compiled.empty() ? nullptr : std::move(compiled.front());
}

std::vector<std::unique_ptr<CpuExecutable>>
CpuExecutable::compileEntries(ModuleOp module, ArrayRef<std::string> entries,
                              const CpuPipelineOptions &options,
                              std::string &error, const JitOptions &jit) {
  static bool nativeTargetReady = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)nativeTargetReady;

  std::vector<std::unique_ptr<CpuExecutable>> exes;
  for (const std::string &entry : entries) {
    auto fn = module.lookupSymbol<func::FuncOp>(entry);
    if (!fn) {
      error = "no function @" + entry + " in the module";
      return {};
    }
    std::unique_ptr<CpuExecutable> exe(new CpuExecutable());
    exe->entry = entry;
    FunctionType type = fn.getFunctionType();
    if (!tensorSignatures(type.getInputs(), exe->args, "argument", error) ||
        !tensorSignatures(type.getResults(), exe->results, "result", error))
      return {};
    exe->constraints = dimensionConstraints(fn);
    fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                UnitAttr::get(module.getContext()));
    // The arguments are the caller's arrays, borrowed (runViews): the
    // function must not write into them, so bufferization copies an
    // argument before updating it in place.
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      fn.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                    BoolAttr::get(module.getContext(), false));
    exes.push_back(std::move(exe));
  }

  auto start = std::chrono::steady_clock::now();
  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  module.getContext()->appendDialectRegistry(registry);
  PassManager pm(module.getContext());
  buildCpuPipeline(pm, options);
  if (failed(pm.run(module))) {
    error = "lowering through spa-to-llvm-cpu failed";
    return {};
  }
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder) {
    error = llvm::toString(tmBuilder.takeError());
    return {};
  }
  // A kept object goes into a shared library for another machine:
  // position-independent code for the baseline x86-64 (or the triple's
  // generic CPU), not this host's features.
  if (jit.keepObject) {
    tmBuilder->setRelocationModel(llvm::Reloc::PIC_);
    tmBuilder->setCPU(tmBuilder->getTargetTriple().isX86() ? "x86-64"
                                                           : "generic");
    tmBuilder->getFeatures() = llvm::SubtargetFeatures();
  }
  auto tm = tmBuilder->createTargetMachine();
  if (!tm) {
    error = llvm::toString(tm.takeError());
    return {};
  }
  auto transformer = makeOptimizingTransformer(3, 0, tm->get());
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  // memref.copy lowers to a call into MLIR's C runner utilities; threaded
  // work items call the OpenMP runtime.
  SmallVector<StringRef> sharedLibs = {SPA_C_RUNNER_UTILS, SPA_OPENMP_RUNTIME};
  engineOptions.sharedLibPaths = sharedLibs;
  engineOptions.enableObjectDump = jit.keepObject;
  auto engine = ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!engine) {
    error = "JIT compilation failed: " + llvm::toString(engine.takeError());
    return {};
  }
  // Declared functions the caller implements; registered before the first
  // lookup links the code.
  if (!jit.externals.empty())
    (*engine)->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap symbols;
      for (const ExternalSymbol &external : jit.externals)
        symbols[interner(external.name)] = {
            llvm::orc::ExecutorAddr::fromPtr(external.address),
            llvm::JITSymbolFlags::Exported};
      return symbols;
    });
  std::shared_ptr<ExecutionEngine> shared = std::move(*engine);
  double compileMs = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  for (std::unique_ptr<CpuExecutable> &exe : exes) {
    exe->engine = shared;
    exe->compileMs = compileMs;
    exe->keptObject = jit.keepObject;
  }
  return exes;
}

bool CpuExecutable::writeObject(StringRef path, std::string &error) const {
  if (!keptObject) {
    error = "the module was compiled without keeping its object";
    return false;
  }
  // The object exists once the JIT has compiled the module: looking the
  // entry up links it.
  if (auto fn = engine->lookupPacked("_mlir_ciface_" + entry); !fn) {
    error = llvm::toString(fn.takeError());
    return false;
  }
  engine->dumpToObjectFile(path);
  return true;
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

namespace {
/// The innermost dims of a strided layout (strides in elements) that lie
/// contiguously: `elements` of them in a row, from dim `firstDim` on. The
/// whole layout is contiguous when firstDim == 0.
struct ContiguousRun {
  int64_t elements = 1, firstDim;
};
} // namespace

static ContiguousRun contiguousRun(ArrayRef<int64_t> shape,
                                   const int64_t *strides) {
  ContiguousRun run{1, static_cast<int64_t>(shape.size())};
  while (run.firstDim > 0 && (shape[run.firstDim - 1] == 1 ||
                              strides[run.firstDim - 1] == run.elements)) {
    run.elements *= shape[run.firstDim - 1];
    --run.firstDim;
  }
  return run;
}

/// Copies a strided result (strides in elements) into `dest`, row-major
/// and contiguous, one memcpy per run of contiguous innermost elements.
static void copyStrided(const char *source, ArrayRef<int64_t> shape,
                        const int64_t *strides, size_t elementBytes,
                        char *dest) {
  int64_t count = 1;
  for (int64_t extent : shape)
    count *= extent;
  if (count == 0)
    return;
  auto [run, firstOfRun] = contiguousRun(shape, strides);
  for (int64_t start = 0; start < count; start += run) {
    int64_t rest = start / run, position = 0;
    for (int64_t dim = firstOfRun - 1; dim >= 0; --dim) {
      position += (rest % shape[dim]) * strides[dim];
      rest /= shape[dim];
    }
    std::memcpy(dest + start * elementBytes, source + position * elementBytes,
                run * elementBytes);
  }
}

bool CpuExecutable::runViews(ArrayRef<BufferView> inputs,
                             std::vector<ResultBuffer> &outputs,
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
    int64_t count = 1;
    for (size_t d = 0; shapeOk && d < sig.shape.size(); ++d) {
      shapeOk = ShapedType::isDynamic(sig.shape[d]) ||
                sig.shape[d] == input.shape[d];
      count *= input.shape[d];
    }
    if (input.kind != sig.kind || !shapeOk ||
        input.bytes != static_cast<size_t>(count) * elementBytes(input.kind)) {
      error = "argument #" + std::to_string(index) +
              " does not match the entry function's type";
      return false;
    }
    descriptors.push_back(
        describe(static_cast<const char *>(input.data), input.shape));
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
  // A value returned twice comes back as two descriptors of one
  // allocation: the first contiguous result takes the allocation over, the
  // others get copies, and an allocation no result took is freed once,
  // after every copy out of it is made.
  llvm::SmallPtrSet<void *, 4> handedOver;
  llvm::SetVector<void *> copiedFrom;
  size_t offset = 0;
  for (const BufferSignature &sig : results) {
    int64_t rank = sig.shape.size();
    const int64_t *w = &resultStruct[offset];
    ResultBuffer out;
    out.kind = sig.kind;
    out.shape.assign(w + 3, w + 3 + rank);
    size_t bytes = elementBytes(sig.kind);
    int64_t count = 1;
    for (int64_t extent : out.shape)
      count *= extent;
    void *allocation = reinterpret_cast<void *>(w[0]);
    const char *aligned = reinterpret_cast<const char *>(w[1]) + w[2] * bytes;
    if (contiguousRun(out.shape, w + 3 + rank).firstDim == 0 &&
        handedOver.insert(allocation).second) {
      // The usual case: the caller takes the function's own allocation.
      out.allocation = allocation;
      out.data = const_cast<char *>(aligned);
    } else {
      out.allocation = std::malloc(std::max<size_t>(count * bytes, 1));
      out.data = out.allocation;
      copyStrided(aligned, out.shape, w + 3 + rank, bytes,
                  static_cast<char *>(out.data));
      copiedFrom.insert(allocation);
    }
    outputs.push_back(std::move(out));
    offset += 3 + 2 * rank;
  }
  for (void *allocation : copiedFrom)
    if (!handedOver.contains(allocation))
      std::free(allocation);
  return true;
}

bool CpuExecutable::run(ArrayRef<HostBuffer> inputs,
                        std::vector<HostBuffer> &outputs,
                        std::string &error) const {
  std::vector<BufferView> views;
  for (const HostBuffer &input : inputs)
    views.push_back({input.kind, input.shape, input.bytes.data(),
                     input.bytes.size()});
  std::vector<ResultBuffer> results;
  if (!runViews(views, results, error))
    return false;
  outputs.clear();
  for (ResultBuffer &result : results) {
    HostBuffer out;
    out.kind = result.kind;
    out.shape = result.shape;
    const char *data = static_cast<const char *>(result.data);
    out.bytes.assign(data, data + out.numElements() * elementBytes(out.kind));
    std::free(result.allocation);
    outputs.push_back(std::move(out));
  }
  return true;
}
