//===- spa-run.cpp - compile and execute an spa module on the CPU ---------===//
//
// Compiles a module through `spa-to-llvm-cpu` and runs its entry function
// with MLIR's ExecutionEngine. Inputs are seeded random normals (or .npy
// files); outputs can be written as .npy, timed, and checked against a
// float64 reference computed here straight from SPEC.md's definition
// (independent of the lowering: it loops over every (query, key) pair).
//
//   spa-run layer.mlir --entry=layer --seed=1 --check --repeat=5
//   spa-run layer.mlir --input=q.npy --input=k.npy --input=v.npy --output-dir=out
//
// The entry function takes and returns ranked tensors of f32, f16 or bf16.
// `--check` needs the layer shape: entry(q, k, v) -> (out[, lse]) around one
// spa.attention. A gradient entry (spa.attention_grad) runs, times and
// writes its results; --check refuses it with an error.
//
//===----------------------------------------------------------------------===//

#include "NpyFile.h"

#include "spa/Dialect/Spa/IR/PlanInterop.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Pipelines/Pipelines.h"
#include "spa/Runtime/CpuExecutable.h"
#include "spa/Planning/BandPlan.h"
#include "spa/Registration/InitAll.h"
#include "spa/Registration/SourceChecks.h"
#include "spa/Version.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

using namespace mlir;
namespace cl = llvm::cl;
namespace plan = ::spa::plan;
using mlir::spa::ElementKind;

// spa-run's own options; --help shows only these (the linked LLVM libraries
// register hundreds of their own).
static cl::OptionCategory spaRunCategory("spa-run options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required, cl::cat(spaRunCategory));
static cl::opt<std::string> entryName("entry", cl::desc("Entry function"),
                                      cl::init("layer"),
                                      cl::cat(spaRunCategory));
static cl::opt<mlir::spa::PolicyOverride>
    policyOverride("policy", cl::desc("Override every band policy"),
                   cl::cat(spaRunCategory));
static cl::opt<int64_t> tileQ("tile-q", cl::desc("Query tile rows"),
                              cl::init(32), cl::cat(spaRunCategory));
static cl::opt<int64_t> tileK("tile-k", cl::desc("Key tile columns"),
                              cl::init(64), cl::cat(spaRunCategory));
static cl::opt<int64_t> vectorLanes(
    "vector-lanes",
    cl::desc("f32 lanes of the vector form (-1: from the host CPU, 0: the "
             "scalar linalg form)"),
    cl::init(-1), cl::cat(spaRunCategory));
static cl::opt<unsigned> threads(
    "num-threads",
    cl::desc("Threads for the work items (0: OpenMP default, 1: none)"),
    cl::init(0), cl::cat(spaRunCategory));
static cl::opt<unsigned> seed("seed", cl::desc("Random seed for inputs"),
                              cl::init(0), cl::cat(spaRunCategory));
static cl::list<std::string>
    inputs("input",
           cl::desc("Argument from a float32/float64 .npy file, rounded "
                    "to the argument's type (float16 files: f16 and f32 "
                    "arguments); in order, the rest are random"),
           cl::cat(spaRunCategory));
static cl::opt<std::string>
    outputDir("output-dir",
              cl::desc("Write arguments (argN.npy) and results (resultN.npy) "
                       "as float32 .npy files"),
              cl::init(""), cl::cat(spaRunCategory));
static cl::opt<bool> check("check",
                           cl::desc("Compare with the float64 reference"),
                           cl::init(false), cl::cat(spaRunCategory));
static cl::opt<double> tolerance(
    "tolerance",
    cl::desc("Max error |out - ref| / (1 + |ref|) for --check (default: by "
             "dtype: f32 1e-4, f16 1e-2, bf16 5e-2)"),
    cl::init(-1.0), cl::cat(spaRunCategory));
static cl::opt<unsigned> repeat("repeat",
                                cl::desc("Timed runs (median is reported)"),
                                cl::init(1), cl::cat(spaRunCategory));
static cl::opt<bool> printPlan("print-plan",
                               cl::desc("Print the band-plan report"),
                               cl::init(false), cl::cat(spaRunCategory));

namespace {

[[noreturn]] void fail(const llvm::Twine &message) {
  llvm::errs() << "spa-run: error: " << message << "\n";
  std::exit(1);
}

/// A dense host array in float (values already rounded to the element type).
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

ElementKind kindOf(Type type) {
  std::optional<ElementKind> kind = mlir::spa::elementKindOf(type);
  if (!kind)
    fail("unsupported element type (expected f32, f16 or bf16)");
  return *kind;
}

const llvm::fltSemantics &semantics(ElementKind e) {
  return e == ElementKind::F16 ? llvm::APFloat::IEEEhalf()
                               : llvm::APFloat::BFloat();
}

/// Stores `value` as element type `e` at `dst`; returns the rounded value.
float storeElement(ElementKind e, float value, void *dst) {
  if (e == ElementKind::F32) {
    std::memcpy(dst, &value, 4);
    return value;
  }
  llvm::APFloat f(value);
  bool lost;
  f.convert(semantics(e), llvm::APFloat::rmNearestTiesToEven, &lost);
  uint16_t bits = f.bitcastToAPInt().getZExtValue();
  std::memcpy(dst, &bits, 2);
  f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToFloat();
}

float loadElement(ElementKind e, const void *src) {
  if (e == ElementKind::F32) {
    float v;
    std::memcpy(&v, src, 4);
    return v;
  }
  uint16_t bits;
  std::memcpy(&bits, src, 2);
  llvm::APFloat f(semantics(e), llvm::APInt(16, bits));
  bool lost;
  f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToFloat();
}

/// Whether a .npy file of `dtype` may feed an argument of element type `e`:
/// float32 and float64 files are rounded to any argument type (and
/// --output-dir writes back the values used); float16 only widens exactly
/// (f16, f32), as a bf16 argument would lose its range.
bool npyFits(spa_run::NpyDtype dtype, ElementKind e) {
  return dtype != spa_run::NpyDtype::F16 || e != ElementKind::BF16;
}

const char *kindName(ElementKind e) {
  return e == ElementKind::F32 ? "f32" : e == ElementKind::F16 ? "f16" : "bf16";
}

/// Reads an --input file for argument #index of element type `e`.
HostTensor readInput(const std::string &path, size_t index, ElementKind e) {
  spa_run::NpyArray array;
  std::string error;
  if (!spa_run::readNpy(path, array, error))
    fail(path + ": " + error);
  if (!npyFits(array.dtype, e))
    fail(path + ": a " + spa_run::npyDtypeName(array.dtype) +
         " array cannot be argument #" + llvm::Twine(index) + " (" +
         kindName(e) + "); give float32 or float64");
  HostTensor t;
  t.shape = std::move(array.shape);
  t.data = std::move(array.data);
  return t;
}

void writeOutput(const std::string &path, const HostTensor &t) {
  std::string error;
  if (!spa_run::writeNpy(path, t.shape, t.data, error))
    fail(error);
}

/// The float64 reference from SPEC.md: O = softmax(scale QK^T) V over the
/// admissible keys of each head; rows without keys give 0 and lse -inf.
void reference(const HostTensor &q, const HostTensor &k, const HostTensor &v,
               const plan::BandTable &table, double scale,
               std::vector<double> &out, std::vector<double> &lse) {
  int64_t batch = q.shape[0], hq = q.shape[1], nq = q.shape[2],
          d = q.shape[3];
  int64_t hkv = k.shape[1], nk = k.shape[2], dv = v.shape[3];
  out.assign(batch * hq * nq * dv, 0.0);
  lse.assign(batch * hq * nq, -INFINITY);
  std::vector<double> scores(nk);
  std::vector<int64_t> keys(nk);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < hq; ++h) {
      int64_t g = h / (hq / hkv);
      const plan::HeadBands &bands = table.heads[h];
      for (int64_t i = 0; i < nq; ++i) {
        int64_t p = i + nk - nq;
        const float *qi = &q.data[((b * hq + h) * nq + i) * d];
        int64_t count = 0;
        double maxScore = -INFINITY;
        for (int64_t j = 0; j < nk; ++j) {
          int64_t dist = p - j;
          if (table.mode == plan::BandMode::Bidirectional)
            dist = std::llabs(dist);
          else if (dist < 0)
            continue;
          bool admissible = false;
          for (const plan::Interval &iv : bands)
            admissible |= dist >= iv.lo && dist < iv.hi;
          if (!admissible)
            continue;
          const float *kj = &k.data[((b * hkv + g) * nk + j) * d];
          double s = 0;
          for (int64_t x = 0; x < d; ++x)
            s += double(qi[x]) * double(kj[x]);
          s *= scale;
          scores[count] = s;
          keys[count++] = j;
          maxScore = std::max(maxScore, s);
        }
        if (count == 0)
          continue;
        double sum = 0;
        for (int64_t c = 0; c < count; ++c)
          sum += std::exp(scores[c] - maxScore);
        double *o = &out[((b * hq + h) * nq + i) * dv];
        for (int64_t c = 0; c < count; ++c) {
          double w = std::exp(scores[c] - maxScore) / sum;
          const float *vj = &v.data[((b * hkv + g) * nk + keys[c]) * dv];
          for (int64_t x = 0; x < dv; ++x)
            o[x] += w * vj[x];
        }
        lse[(b * hq + h) * nq + i] = maxScore + std::log(sum);
      }
    }
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // The CPU pipeline is textual: upstream passes must be registered too.
  mlir::spa::registerCompilerPasses();
  cl::HideUnrelatedOptions(spaRunCategory);
  mlir::spa::setToolVersionPrinter("spa-run");
  cl::ParseCommandLineOptions(argc, argv,
                              "spa-run: compile and run an spa module on the "
                              "CPU\n");

  DialectRegistry registry;
  mlir::spa::registerCompilerDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  llvm::SourceMgr sourceMgr;
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(inputFile);
  if (!buffer)
    fail("cannot read " + inputFile);
  unsigned bufferId =
      sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  if (mlir::spa::reportUnparseableInput(sourceMgr, bufferId))
    return 1;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  auto entry = module->lookupSymbol<func::FuncOp>(entryName);
  if (!entry)
    fail("no function @" + entryName + " in " + inputFile);
  FunctionType fnType = entry.getFunctionType();

  // Inputs: .npy files first, random normals for the rest.
  std::vector<HostTensor> args;
  std::vector<ElementKind> argElts;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto [index, type] : llvm::enumerate(fnType.getInputs())) {
    auto tensorType = dyn_cast<RankedTensorType>(type);
    if (!tensorType)
      fail("argument #" + llvm::Twine(index) + " is not a ranked tensor");
    argElts.push_back(kindOf(tensorType.getElementType()));
    HostTensor t;
    if (index < inputs.size()) {
      t = readInput(inputs[index], index, argElts.back());
      bool fits = t.shape.size() == static_cast<size_t>(tensorType.getRank());
      for (int64_t i = 0; fits && i < tensorType.getRank(); ++i)
        fits = tensorType.isDynamicDim(i) ||
               tensorType.getDimSize(i) == t.shape[i];
      if (!fits) {
        std::string shape;
        llvm::raw_string_ostream os(shape);
        os << "(";
        llvm::interleaveComma(t.shape, os);
        os << (t.shape.size() == 1 ? ",)" : ")") << " does not fit argument #"
           << index << " (" << tensorType << ")";
        fail(inputs[index] + ": shape " + shape);
      }
    } else {
      if (!tensorType.hasStaticShape())
        fail("argument #" + llvm::Twine(index) +
             " has a dynamic shape: pass it with --input");
      t.shape.assign(tensorType.getShape().begin(),
                     tensorType.getShape().end());
      t.data.resize(t.numel());
      for (float &x : t.data)
        x = normal(rng);
    }
    args.push_back(std::move(t));
  }

  // The layer's band table and scale, for --check and --print-plan, read
  // before lowering; policies are planned for the actual key length.
  std::optional<plan::BandTable> table;
  double scale = 0;
  bool hasLse = false;
  // --print-plan reads the band plan of either op; --check compares a
  // forward op with the reference below.
  mlir::spa::BandedAttentionOpInterface layer;
  mlir::spa::AttentionOp forward;
  entry.walk([&](mlir::spa::BandedAttentionOpInterface op) {
    layer = op;
    if (auto attention = dyn_cast<mlir::spa::AttentionOp>(op.getOperation()))
      forward = attention;
  });
  if (check && layer && !forward)
    fail("--check compares spa.attention with its float64 reference; @" +
         entryName +
         " holds only spa.attention_grad (its gradients are checked from "
         "Python: test/Python/pytests/test_attention_grad.py)");
  if ((check || printPlan) && layer) {
    if (args.size() < 3)
      fail("--check needs entry(q, k, v, ...)");
    int64_t nk = args[1].shape[2], heads = args[0].shape[1];
    int64_t nq = args[0].shape[2];
    scale = layer.getEffectiveScale();
    hasLse = forward && forward.getOutputs().size() == 2;
    if (auto bands = layer.getBandTable()) {
      table = mlir::spa::toPlanTable(bands);
    } else {
      auto policy = cast<mlir::spa::BandPolicyAttr>(layer.getBands());
      mlir::spa::BandPolicyKind kind = policy.getKind();
      if (policyOverride.kind)
        kind = *policyOverride.kind;
      plan::PolicyOptions options;
      options.window =
          kind == mlir::spa::BandPolicyKind::SlidingWindow ? policy.getWindow()
                                                           : -1;
      options.queryLen = nq;
      plan::PlanResult planned = plan::makeBandTable(
          mlir::spa::toPlanKind(kind), nk, heads,
          mlir::spa::toPlanMode(policy.getMode()), options);
      if (!planned)
        fail("planning the reference table: " + planned.error);
      table = *planned.table;
    }
    if (printPlan) {
      plan::LayerReport report = plan::analyzeBandTable(
          *table, nq, nk, {tileQ, tileK}, /*numSMs=*/1);
      if (!report.error.empty())
        fail("analysing the band plan: " + report.error);
      llvm::outs() << "band plan (" << plan::formatBandTable(*table) << ")\n";
      for (size_t h = 0; h < report.heads.size(); ++h)
        llvm::outs() << llvm::format(
            "  head %2zu: %10lld pairs (%5.2f%%)\n", h,
            static_cast<long long>(report.heads[h].pairs),
            100.0 * report.heads[h].share);
      llvm::outs() << llvm::format(
          "  layer: %lld pairs per batch, %.2f%% of dense causal\n",
          static_cast<long long>(report.totalPairs),
          100.0 * report.fractionOfDense);
    }
  }

  // Compile.
  mlir::spa::CpuPipelineOptions pipelineOptions;
  pipelineOptions.policy = policyOverride;
  pipelineOptions.tileQ = tileQ;
  pipelineOptions.tileK = tileK;
  pipelineOptions.vectorLanes = vectorLanes;
  pipelineOptions.threads = threads;
  std::string error;
  std::unique_ptr<mlir::spa::CpuExecutable> executable =
      mlir::spa::CpuExecutable::compile(*module, entryName, pipelineOptions,
                                        error);
  if (!executable)
    fail(error);
  double compileMs = executable->getCompileMilliseconds();

  // Arguments in their element types (values rounded in place so the
  // reference sees exactly what the kernel sees).
  std::vector<mlir::spa::HostBuffer> buffers;
  for (size_t i = 0; i < args.size(); ++i) {
    mlir::spa::HostBuffer buffer;
    buffer.kind = argElts[i];
    buffer.shape = args[i].shape;
    size_t bytes = mlir::spa::elementBytes(argElts[i]);
    buffer.bytes.resize(args[i].numel() * bytes);
    for (int64_t x = 0; x < args[i].numel(); ++x)
      args[i].data[x] = storeElement(argElts[i], args[i].data[x],
                                     buffer.bytes.data() + x * bytes);
    buffers.push_back(std::move(buffer));
  }

  std::vector<double> timesMs;
  std::vector<mlir::spa::HostBuffer> outputs;
  unsigned runs = std::max(1u, repeat.getValue());
  for (unsigned run = 0; run < runs + 1; ++run) {
    auto start = std::chrono::steady_clock::now();
    if (!executable->run(buffers, outputs, error))
      fail(error);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    if (run > 0) // run 0 warms up caches and page tables
      timesMs.push_back(ms);
  }
  std::sort(timesMs.begin(), timesMs.end());
  double medianMs = timesMs[timesMs.size() / 2];

  std::vector<HostTensor> results;
  for (const mlir::spa::HostBuffer &out : outputs) {
    HostTensor t;
    t.shape = out.shape;
    t.data.resize(t.numel());
    size_t bytes = mlir::spa::elementBytes(out.kind);
    for (int64_t x = 0; x < t.numel(); ++x)
      t.data[x] = loadElement(out.kind, out.bytes.data() + x * bytes);
    results.push_back(std::move(t));
  }

  llvm::outs() << llvm::format(
      "@%s: compiled in %.0f ms, ran in %.3f ms (median of %u)\n",
      entryName.c_str(), compileMs, medianMs, (unsigned)timesMs.size());

  if (!outputDir.empty()) {
    llvm::sys::fs::create_directories(outputDir);
    for (size_t i = 0; i < args.size(); ++i)
      writeOutput(outputDir + "/arg" + std::to_string(i) + ".npy", args[i]);
    for (size_t i = 0; i < results.size(); ++i)
      writeOutput(outputDir + "/result" + std::to_string(i) + ".npy",
                  results[i]);
  }

  if (check) {
    if (!table)
      fail("--check needs one spa.attention in @" + entryName);
    std::vector<double> refOut, refLse;
    reference(args[0], args[1], args[2], *table, scale, refOut, refLse);
    double tol = tolerance >= 0 ? tolerance.getValue()
                 : argElts[0] == ElementKind::F32 ? 1e-4
                 : argElts[0] == ElementKind::F16 ? 1e-2
                                                  : 5e-2;
    double maxErr = 0;
    for (size_t x = 0; x < refOut.size(); ++x) {
      double err = std::fabs(results[0].data[x] - refOut[x]) /
                   (1.0 + std::fabs(refOut[x]));
      if (!(err <= maxErr)) // NaN propagates into maxErr
        maxErr = std::isnan(err) ? INFINITY : err;
    }
    double maxLseErr = 0;
    if (hasLse && results.size() > 1)
      for (size_t x = 0; x < refLse.size(); ++x) {
        double got = results[1].data[x], want = refLse[x];
        double err = (std::isinf(want) && got == want)
                         ? 0.0
                         : std::fabs(got - want) / (1.0 + std::fabs(want));
        if (!(err <= maxLseErr))
          maxLseErr = std::isnan(err) ? INFINITY : err;
      }
    bool ok = maxErr <= tol && maxLseErr <= tol;
    llvm::outs() << llvm::format(
        "check against float64 reference: max error %.3g (output), %.3g "
        "(log-sum-exp), tolerance %.3g: %s\n",
        maxErr, maxLseErr, tol, ok ? "PASS" : "FAIL");
    if (!ok)
      return 2;
  }
  return 0;
}
