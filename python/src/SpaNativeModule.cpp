//===- SpaNativeModule.cpp - nanobind bindings of spa's C++ API -----------===//
//
// The native half of the `spa` Python package. Debian's MLIR ships no Python
// bindings, so this binds our own facade: the planning library, parsing and
// printing modules, running registered pipelines (MLIR diagnostics become
// Python exceptions carrying their location), and JIT-compiling modules for
// the CPU. It links the same libMLIR.so as spa-opt: one MLIR per process.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Planning/BandPlan.h"
#include "spa/Registration/InitAll.h"
#include "spa/Registration/SourceChecks.h"
#include "spa/Dialect/Spa/Transforms/Passes.h"
#include "spa/Runtime/CpuExecutable.h"
#include "spa/Runtime/CudaCompiler.h"
#include "spa/Runtime/HostSplit.h"
#include "spa/Version.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/raw_ostream.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <mutex>

namespace nb = nanobind;
using namespace nb::literals;
namespace plan = ::spa::plan;

namespace {

/// Raised for MLIR diagnostics; the Python layer re-raises it as
/// spa.ir.MLIRError. Message lines are "<location>: error: <text>".
struct MLIRDiagnosticError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Collects every diagnostic emitted while alive, with its location.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext *context)
      : handler(context, [this](mlir::Diagnostic &diag) {
          std::string line;
          llvm::raw_string_ostream os(line);
          os << diag.getLocation() << ": ";
          switch (diag.getSeverity()) {
          case mlir::DiagnosticSeverity::Error:
            os << "error: ";
            break;
          case mlir::DiagnosticSeverity::Warning:
            os << "warning: ";
            break;
          case mlir::DiagnosticSeverity::Note:
            os << "note: ";
            break;
          case mlir::DiagnosticSeverity::Remark:
            os << "remark: ";
            break;
          }
          os << diag.str();
          for (mlir::Diagnostic &note : diag.getNotes())
            os << "\n  " << note.getLocation() << ": note: " << note.str();
          messages += (messages.empty() ? "" : "\n") + line;
          return mlir::success();
        }) {}

  [[noreturn]] void raise(const std::string &fallback) {
    throw MLIRDiagnosticError(messages.empty() ? fallback : messages);
  }

private:
  std::string messages;
  mlir::ScopedDiagnosticHandler handler;
};

void registerPassesOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    mlir::spa::registerCompilerPasses();
  });
}

class Context {
public:
  Context() {
    registerPassesOnce();
    mlir::DialectRegistry registry;
    mlir::spa::registerCompilerDialects(registry);
    context = std::make_unique<mlir::MLIRContext>(registry);
    context->loadAllAvailableDialects();
    context->printOpOnDiagnostic(false);
  }
  mlir::MLIRContext *get() { return context.get(); }

private:
  std::unique_ptr<mlir::MLIRContext> context;
};

/// The role name of `arg` as an operand of `user` (a banded attention op),
/// or "" (see Module::argumentNames).
std::string roleOf(mlir::Value arg, mlir::Operation *user) {
  if (auto forward = llvm::dyn_cast<mlir::spa::AttentionOp>(user)) {
    if (arg == forward.getQuery())
      return "query";
    if (arg == forward.getKey())
      return "key";
    if (arg == forward.getValue())
      return "value";
    if (arg == forward.getOutput())
      return "output";
    if (arg == forward.getLogSumExp())
      return "log_sum_exp";
  } else if (auto grad = llvm::dyn_cast<mlir::spa::AttentionGradOp>(user)) {
    if (arg == grad.getQuery())
      return "query";
    if (arg == grad.getKey())
      return "key";
    if (arg == grad.getValue())
      return "value";
    if (arg == grad.getOutput())
      return "output";
    if (arg == grad.getLogSumExp())
      return "log_sum_exp";
    if (arg == grad.getOutputGrad())
      return "output_grad";
  }
  return "";
}

class Module {
public:
  Module(std::shared_ptr<Context> context, mlir::OwningOpRef<mlir::ModuleOp> op)
      : context(std::move(context)), op(std::move(op)) {}

  static Module parse(std::shared_ptr<Context> context, const std::string &text,
                      const std::string &filename) {
    DiagnosticCollector diagnostics(context->get());
    if (failed(mlir::spa::checkSourceText(text, filename, context->get())))
      diagnostics.raise("failed to parse " + filename);
    mlir::ParserConfig config(context->get());
    auto op = mlir::parseSourceString<mlir::ModuleOp>(text, config, filename);
    if (!op)
      diagnostics.raise("failed to parse " + filename);
    return Module(std::move(context), std::move(op));
  }

  std::string str() {
    std::string text;
    llvm::raw_string_ostream os(text);
    op->print(os);
    return text;
  }

  Module clone() {
    return Module(context, mlir::OwningOpRef<mlir::ModuleOp>(op->clone()));
  }

  void verify() {
    DiagnosticCollector diagnostics(context->get());
    if (mlir::failed(mlir::verify(*op)))
      diagnostics.raise("module failed to verify");
  }

  /// Runs a textual pipeline: "builtin.module(a,b)" or "a,b" on the module,
  /// after -spa-check-input (IR that upstream passes crash on is refused
  /// first, whatever passes the caller asks for).
  void runPipeline(const std::string &pipeline) {
    DiagnosticCollector diagnostics(context->get());
    mlir::PassManager pm(context->get());
    pm.addPass(mlir::spa::createSpaCheckInput());
    std::string errors;
    llvm::raw_string_ostream errorStream(errors);
    std::string text = pipeline;
    llvm::StringRef ref(text);
    mlir::LogicalResult parsed =
        ref.starts_with("builtin.module(") && ref.ends_with(")")
            ? mlir::parsePassPipeline(ref.drop_front(15).drop_back(), pm,
                                      errorStream)
            : mlir::parsePassPipeline(ref, pm, errorStream);
    if (mlir::failed(parsed))
      throw std::invalid_argument("invalid pass pipeline '" + pipeline +
                                  "': " + errors);
    if (mlir::failed(pm.run(*op)))
      diagnostics.raise("pass pipeline '" + pipeline + "' failed");
  }

  /// What each argument of function `entry` is, for error messages: the
  /// spa.attention or spa.attention_grad operand it feeds ("query", "key",
  /// "value", "output", "log_sum_exp", as in CUDA artifacts, and
  /// "output_grad"), or "" when it feeds none. The IR keeps no SSA names,
  /// so roles are the only names there are.
  std::vector<std::string> argumentNames(const std::string &entry) {
    std::vector<std::string> names;
    auto func = llvm::dyn_cast_or_null<mlir::FunctionOpInterface>(
        mlir::SymbolTable::lookupSymbolIn(*op, entry));
    if (!func || func.isExternal())
      return names;
    for (mlir::BlockArgument arg : func.getArguments()) {
      std::string name;
      for (mlir::Operation *user : arg.getUsers()) {
        name = roleOf(arg, user);
        if (!name.empty())
          break;
      }
      names.push_back(name);
    }
    return names;
  }

  std::unique_ptr<mlir::spa::CpuExecutable>
  compileCpu(const std::string &entry, const std::string &optionText) {
    mlir::spa::CpuPipelineOptions options;
    parseCpuOptions(optionText, options);
    std::string error;
    DiagnosticCollector diagnostics(context->get());
    auto exe = mlir::spa::CpuExecutable::compile(*op, entry, options, error);
    if (!exe)
      diagnostics.raise(error);
    return exe;
  }

  /// Several entry functions through one lowering and one JIT (a layer's
  /// forward and gradient): a list of CpuExecutable in `entries`' order.
  /// `externals` maps symbols the module declares (`_mlir_ciface_<f>` of
  /// a function left as a declaration) to addresses in this process;
  /// `keepObject` keeps the object for CpuExecutable.write_object.
  nb::list compileCpuEntries(const std::vector<std::string> &entries,
                             const std::string &optionText,
                             const std::map<std::string, uintptr_t> &externals,
                             bool keepObject) {
    mlir::spa::CpuPipelineOptions options;
    parseCpuOptions(optionText, options);
    mlir::spa::JitOptions jit;
    for (const auto &[name, address] : externals)
      jit.externals.push_back({name, reinterpret_cast<void *>(address)});
    jit.keepObject = keepObject;
    std::string error;
    DiagnosticCollector diagnostics(context->get());
    auto exes = mlir::spa::CpuExecutable::compileEntries(*op, entries, options,
                                                         error, jit);
    if (exes.empty())
      diagnostics.raise(error);
    nb::list result;
    for (auto &exe : exes)
      result.append(nb::cast(exe.release(), nb::rv_policy::take_ownership));
    return result;
  }

  /// Compiles for CUDA with spa-to-nvvm option text ("chip=sm_90a
  /// warps=8"): (cubin bytes, PTX text, metadata JSON).
  nb::tuple compileCuda(const std::string &optionText) {
    mlir::spa::GpuPipelineOptions options;
    std::string error;
    if (mlir::failed(
            mlir::spa::parseGpuPipelineOptions(optionText, options, error)))
      throw std::invalid_argument("bad spa-to-nvvm option: " + error);
    DiagnosticCollector diagnostics(context->get());
    mlir::spa::CudaArtifact artifact;
    if (!mlir::spa::compileCudaArtifact(*op, options, artifact, error))
      diagnostics.raise(error);
    return nb::make_tuple(
        nb::bytes(artifact.cubin.data(), artifact.cubin.size()), artifact.ptx,
        artifact.metadata);
  }

  /// Functions marked `spa.outlined` (by -spa-outline-attention).
  std::vector<std::string> outlinedFunctions() {
    return mlir::spa::outlinedFunctions(*op);
  }

  /// A new module with public copies of the functions `names`.
  Module extractFunctions(const std::vector<std::string> &names) {
    std::string error;
    auto extracted = mlir::spa::extractFunctions(*op, names, error);
    if (!extracted)
      throw std::invalid_argument(error);
    return Module(context, std::move(extracted));
  }

  /// Turns the functions `names` into declarations called through their C
  /// interface (in place).
  void declareExternal(const std::vector<std::string> &names) {
    std::string error;
    if (mlir::failed(mlir::spa::declareExternal(*op, names, error)))
      throw std::invalid_argument(error);
  }

  /// (arguments, results) of function `name` as (kind, shape) pairs
  /// (CpuExecutable's form); a ValueError for other types.
  std::pair<std::vector<mlir::spa::BufferSignature>,
            std::vector<mlir::spa::BufferSignature>>
  functionSignature(const std::string &name) {
    auto fn = op->lookupSymbol<mlir::func::FuncOp>(name);
    if (!fn)
      throw std::invalid_argument("no function @" + name + " in the module");
    std::vector<mlir::spa::BufferSignature> args, results;
    std::string error;
    mlir::FunctionType type = fn.getFunctionType();
    if (!mlir::spa::tensorSignatures(type.getInputs(), args,
                                     "@" + name + " argument", error) ||
        !mlir::spa::tensorSignatures(type.getResults(), results,
                                     "@" + name + " result", error))
      throw std::invalid_argument(error);
    return {args, results};
  }

  /// The source location of function `name`, as diagnostics print it.
  std::string functionLocation(const std::string &name) {
    auto fn = op->lookupSymbol<mlir::func::FuncOp>(name);
    if (!fn)
      throw std::invalid_argument("no function @" + name + " in the module");
    std::string text;
    llvm::raw_string_ostream os(text);
    os << fn.getLoc();
    return text;
  }

private:
  /// Parses spa-to-llvm-cpu option text into `options`, or throws
  /// std::invalid_argument (the options struct cannot be copied out).
  static void parseCpuOptions(const std::string &optionText,
                              mlir::spa::CpuPipelineOptions &options) {
    std::string error;
    if (mlir::failed(
            mlir::spa::parseCpuPipelineOptions(optionText, options, error)))
      throw std::invalid_argument("bad spa-to-llvm-cpu option: " + error);
    if (options.tileQ <= 0 || options.tileK <= 0)
      throw std::invalid_argument("tile sizes must be positive");
  }

  std::shared_ptr<Context> context;
  mlir::OwningOpRef<mlir::ModuleOp> op;
};

const char *kindName(mlir::spa::ElementKind kind) {
  switch (kind) {
  case mlir::spa::ElementKind::F32:
    return "f32";
  case mlir::spa::ElementKind::F16:
    return "f16";
  case mlir::spa::ElementKind::BF16:
    return "bf16";
  }
  return "?";
}

nb::list signatures(const std::vector<mlir::spa::BufferSignature> &sigs) {
  nb::list out;
  for (const auto &sig : sigs) {
    nb::list shape;
    for (int64_t d : sig.shape)
      shape.append(mlir::ShapedType::isDynamic(d) ? nb::none()
                                                  : nb::object(nb::int_(d)));
    out.append(nb::make_tuple(kindName(sig.kind), nb::tuple(shape)));
  }
  return out;
}

plan::BandTable tableFromPython(const std::string &mode, nb::list heads) {
  plan::BandTable table;
  std::optional<plan::BandMode> parsed = plan::parseBandMode(mode);
  if (!parsed)
    throw std::invalid_argument("unknown band mode '" + mode + "'");
  table.mode = *parsed;
  for (nb::handle head : heads) {
    plan::HeadBands bands;
    for (nb::handle interval : head) {
      auto pair = nb::cast<std::pair<int64_t, int64_t>>(interval);
      bands.push_back({pair.first, pair.second});
    }
    table.heads.push_back(std::move(bands));
  }
  return table;
}

nb::list tableToPython(const plan::BandTable &table) {
  nb::list heads;
  for (const plan::HeadBands &head : table.heads) {
    nb::list intervals;
    for (const plan::Interval &iv : head)
      intervals.append(nb::make_tuple(iv.lo, iv.hi));
    heads.append(intervals);
  }
  return heads;
}

} // namespace

NB_MODULE(_spa_native, m) {
  m.doc() = "Native part of the spa package (planning, IR, CPU JIT)";
  nb::exception<MLIRDiagnosticError>(m, "NativeMLIRError");
  // spa.__version__ reads this: CMake's project(spa VERSION ...).
  m.attr("__version__") = SPA_VERSION_STRING;

  m.def(
      "plan_bands",
      [](const std::string &policy, int64_t seqLen, int64_t heads,
         const std::string &mode, int64_t window, int64_t tileQ, int64_t tileK,
         int64_t queryLen) {
        std::optional<plan::PolicyKind> kind = plan::parsePolicyKind(policy);
        if (!kind)
          throw std::invalid_argument("unknown band policy '" + policy + "'");
        std::optional<plan::BandMode> bandMode = plan::parseBandMode(mode);
        if (!bandMode)
          throw std::invalid_argument("unknown band mode '" + mode + "'");
        plan::PolicyOptions options;
        options.window = window;
        options.tile = {tileQ, tileK};
        options.queryLen = queryLen;
        plan::PlanResult result =
            plan::makeBandTable(*kind, seqLen, heads, *bandMode, options);
        if (!result)
          throw std::invalid_argument(result.error);
        return tableToPython(*result.table);
      },
      "policy"_a, "seq_len"_a, "heads"_a, "mode"_a = "causal",
      "window"_a = -1, "tile_q"_a = 128, "tile_k"_a = 128,
      "query_len"_a = -1,
      "Band table of a SPEC.md policy: one list of (lo, hi) per head.");

  m.def(
      "analyze_bands",
      [](const std::string &mode, nb::list heads, int64_t queryLen,
         int64_t keyLen, int64_t tileQ, int64_t tileK, int64_t numSMs) {
        plan::BandTable table = tableFromPython(mode, heads);
        std::string invalid = plan::validateBandTable(table);
        if (!invalid.empty())
          throw std::invalid_argument("invalid band table: " + invalid);
        if (tileQ <= 0 || tileK <= 0 || queryLen < 0 || keyLen < 0)
          throw std::invalid_argument("tiles must be positive and lengths "
                                      "non-negative");
        plan::LayerReport report = plan::analyzeBandTable(
            table, queryLen, keyLen, {tileQ, tileK}, numSMs);
        if (!report.error.empty())
          throw std::invalid_argument(report.error);
        nb::list perHead;
        for (const plan::HeadReport &head : report.heads) {
          nb::dict row;
          row["pairs"] = head.pairs;
          row["full_tiles"] = head.tiles.full;
          row["partial_tiles"] = head.tiles.partial;
          row["cost"] = head.cost;
          row["share"] = head.share;
          perHead.append(row);
        }
        nb::dict layer;
        layer["heads"] = perHead;
        layer["total_pairs"] = report.totalPairs;
        layer["dense_causal_pairs"] = report.denseCausalPairs;
        layer["fraction_of_dense"] = report.fractionOfDense;
        layer["cost_spread"] = report.costSpread;
        layer["makespan"] = report.makespan;
        layer["ideal_makespan"] = report.idealMakespan;
        layer["makespan_ratio"] = report.makespanRatio;
        return layer;
      },
      "mode"_a, "heads"_a, "query_len"_a, "key_len"_a, "tile_q"_a = 128,
      "tile_k"_a = 128, "num_sms"_a = 132,
      "Cost report of a band table (pairs, tiles, LPT makespan).");

  m.def(
      "format_bands",
      [](const std::string &mode, nb::list heads) {
        return plan::formatBandTable(tableFromPython(mode, heads));
      },
      "mode"_a, "heads"_a);

  nb::class_<Context>(m, "Context").def(nb::init<>());
  m.def("make_context", [] { return std::make_shared<Context>(); });

  m.def(
      "pipeline_defaults",
      [](const std::string &pipeline) {
        std::string text;
        llvm::raw_string_ostream os(text);
        if (pipeline == "spa-to-nvvm")
          mlir::spa::GpuPipelineOptions().print(os);
        else if (pipeline == "spa-to-llvm-cpu")
          mlir::spa::CpuPipelineOptions().print(os);
        else
          throw std::invalid_argument("unknown pipeline '" + pipeline + "'");
        return text;
      },
      "pipeline"_a,
      "The pipeline's options with their defaults, as option text "
      "'{name=value ...}' (the typed options struct printed).");

  nb::class_<Module>(m, "Module")
      .def_static("parse", &Module::parse, "context"_a, "text"_a,
                  "filename"_a = "<string>")
      .def("__str__", &Module::str)
      .def("clone", &Module::clone)
      .def("verify", &Module::verify)
      .def("run_pipeline", &Module::runPipeline, "pipeline"_a)
      .def("argument_names", &Module::argumentNames, "entry"_a,
           "The spa.attention(_grad) operand each argument of `entry` feeds "
           "('query', 'key', ...; '' for none), for error messages.")
      .def("compile_cpu", &Module::compileCpu, "entry"_a, "options"_a = "",
           "JIT-compiles through spa-to-llvm-cpu with its option text.")
      .def("compile_cpu_entries", &Module::compileCpuEntries, "entries"_a,
           "options"_a = "",
           "externals"_a = std::map<std::string, uintptr_t>(),
           "keep_object"_a = false,
           "JIT-compiles several entry functions at once (one lowering, one "
           "JIT): a list of CpuExecutable. `externals` resolves declared "
           "symbols to addresses in this process.")
      .def("outlined_functions", &Module::outlinedFunctions,
           "Functions marked spa.outlined, in module order.")
      .def("extract_functions", &Module::extractFunctions, "names"_a,
           "A new module with public copies of the functions `names`.")
      .def("declare_external", &Module::declareExternal, "names"_a,
           "Makes the functions `names` declarations called through "
           "_mlir_ciface_<name> (in place).")
      .def("function_location", &Module::functionLocation, "name"_a,
           "The source location of a function, as diagnostics print it.")
      .def(
          "function_signature",
          [](Module &m, const std::string &name) {
            auto [args, results] = m.functionSignature(name);
            return nb::make_tuple(signatures(args), signatures(results));
          },
          "name"_a, "(arguments, results) of a function as (kind, shape).")
      .def("compile_cuda", &Module::compileCuda, "options"_a = "",
           "Compiles through spa-to-nvvm with its option text.");

  nb::class_<mlir::spa::CpuExecutable>(m, "CpuExecutable")
      .def_prop_ro("arguments",
                   [](const mlir::spa::CpuExecutable &e) {
                     return signatures(e.getArguments());
                   })
      .def_prop_ro("results",
                   [](const mlir::spa::CpuExecutable &e) {
                     return signatures(e.getResults());
                   })
      .def_prop_ro("compile_ms", &mlir::spa::CpuExecutable::getCompileMilliseconds)
      .def(
          "write_object",
          [](const mlir::spa::CpuExecutable &exe, const std::string &path) {
            std::string error;
            if (!exe.writeObject(path, error))
              throw std::runtime_error(error);
          },
          "path"_a,
          "Writes the compiled object (compiled with keep_object=True).")
      .def(
          "run",
          [](const mlir::spa::CpuExecutable &exe,
             std::vector<nb::ndarray<nb::c_contig, nb::device::cpu>> arrays) {
            // Borrowed: the arrays stay alive (held by the caller) for the
            // whole call.
            std::vector<mlir::spa::BufferView> inputs;
            for (auto [index, array] : llvm::enumerate(arrays)) {
              if (index >= exe.getArguments().size())
                break;
              mlir::spa::BufferView view;
              view.kind = exe.getArguments()[index].kind;
              for (size_t d = 0; d < array.ndim(); ++d)
                view.shape.push_back(array.shape(d));
              view.data = array.data();
              view.bytes = array.nbytes();
              inputs.push_back(std::move(view));
            }
            std::vector<mlir::spa::ResultBuffer> outputs;
            std::string error;
            bool ok;
            {
              nb::gil_scoped_release release;
              ok = exe.runViews(inputs, outputs, error);
            }
            if (!ok)
              throw std::invalid_argument(error);
            // Each result's bytes as a uint8 array that owns the function's
            // allocation (freed with the array): no copy.
            nb::list results;
            for (mlir::spa::ResultBuffer &out : outputs) {
              size_t count = mlir::spa::elementBytes(out.kind);
              for (int64_t extent : out.shape)
                count *= extent;
              nb::capsule owner(out.allocation,
                                [](void *p) noexcept { std::free(p); });
              size_t shape[1] = {count};
              nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>> bytes(
                  out.data, 1, shape, owner);
              results.append(nb::make_tuple(kindName(out.kind),
                                            nb::tuple(nb::cast(out.shape)),
                                            bytes));
            }
            return results;
          },
          "arrays"_a,
          "Runs the entry function on C-contiguous arrays whose raw bytes "
          "are in the argument element types (f16/bf16 as 16-bit words); "
          "returns (kind, shape, uint8 array of the result's bytes) per "
          "result, the arrays owning the results' memory.");

  m.def(
      "policy_names",
      [] {
        // PolicyKind values are 0, 1, ...; the first without a spelling ends
        // the enum. Explicit names a given table, not a policy to plan.
        std::vector<std::string> names;
        for (int k = 0;; ++k) {
          auto kind = static_cast<plan::PolicyKind>(k);
          std::string_view name = plan::policyKindName(kind);
          if (name == "unknown")
            break;
          if (kind != plan::PolicyKind::Explicit)
            names.emplace_back(name);
        }
        return names;
      },
      "Names of the band policies plan_bands takes, in PolicyKind order.");
}
