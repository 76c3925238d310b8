//===- LaunchContract.cpp - how a generated kernel is launched ------------===//

#include "spa/Conversion/SpaToGPU/LaunchContract.h"

#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::spa;

const TensorMapArg *KernelLaunch::tensorMap(StringRef name) const {
  for (const TensorMapArg &map : tensorMaps)
    if (map.name == name)
      return &map;
  return nullptr;
}

ArrayRef<int32_t> KernelLaunch::constantValues(StringRef name) const {
  if (name == "bounds")
    return bounds;
  if (name == "work")
    return work;
  assert(name == "score_grad_slots" && "not a constant argument");
  return scoreGradSlots;
}

KernelArgRole KernelLaunch::argRole(StringRef name) const {
  if (tensorMap(name))
    return KernelArgRole::TensorMap;
  if (name == "bounds" || name == "work" || name == "score_grad_slots")
    return KernelArgRole::Constant;
  if (name == "query_len" || name == "key_len")
    return KernelArgRole::Length;
  if (name == "partial_out" || name == "partial_stats")
    return KernelArgRole::Scratch;
  if (role == "forward" || role == "combine")
    return name == "output" || name == "log_sum_exp" ? KernelArgRole::Output
                                                     : KernelArgRole::Input;
  if (name == "delta" || name == "dq_accum" || name == "score_grad" ||
      name == "grad_sync")
    return KernelArgRole::Scratch;
  if (name == "query_grad" || name == "key_grad" || name == "value_grad")
    return KernelArgRole::Output;
  return KernelArgRole::Input;
}

DictionaryAttr KernelLaunch::toAttr(MLIRContext *ctx) const {
  Builder b(ctx);
  SmallVector<Attribute> argNames;
  for (const std::string &name : args)
    argNames.push_back(b.getStringAttr(name));
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("grid", b.getDenseI64ArrayAttr(grid)),
      b.getNamedAttr("block", b.getDenseI64ArrayAttr(block)),
      b.getNamedAttr("args", b.getArrayAttr(argNames)),
      b.getNamedAttr("bounds", b.getDenseI32ArrayAttr(bounds)),
      b.getNamedAttr("work", b.getDenseI32ArrayAttr(work)),
      b.getNamedAttr("bands", bands),
      b.getNamedAttr("tile", b.getDenseI64ArrayAttr(tile)),
      b.getNamedAttr("mma", b.getStringAttr(stringifyMmaKind(mma))),
      b.getNamedAttr("static_shared_bytes",
                     b.getI64IntegerAttr(staticSharedBytes)),
      b.getNamedAttr("dynamic_shared_bytes",
                     b.getI64IntegerAttr(dynamicSharedBytes)),
      b.getNamedAttr("role", b.getStringAttr(role)),
      b.getNamedAttr("op", b.getI64IntegerAttr(op)),
      b.getNamedAttr(
          "tensor_maps",
          b.getArrayAttr(llvm::to_vector(llvm::map_range(
              tensorMaps, [&](auto &m) { return Attribute(m.toAttr(ctx)); })))),
  };
  if (!scoreGradSlots.empty())
    entries.push_back(b.getNamedAttr("score_grad_slots",
                                     b.getDenseI32ArrayAttr(scoreGradSlots)));
  if (maxBlocks > 0)
    entries.push_back(
        b.getNamedAttr("max_blocks", b.getI64IntegerAttr(maxBlocks)));
  if (minBlocksPerSM > 0)
    entries.push_back(b.getNamedAttr("min_blocks_per_sm",
                                     b.getI64IntegerAttr(minBlocksPerSM)));
  if (programmaticLaunch)
    entries.push_back(b.getNamedAttr("programmatic_launch", b.getUnitAttr()));
  // Only kernels with run-time lengths carry their buffers' own types.
  if (dynamicLengths()) {
    SmallVector<Attribute> types;
    for (Type type : argTypes)
      types.push_back(TypeAttr::get(type));
    entries.push_back(b.getNamedAttr("arg_types", b.getArrayAttr(types)));
  }
  return b.getDictionaryAttr(entries);
}

DictionaryAttr TensorMapArg::toAttr(MLIRContext *ctx) const {
  Builder b(ctx);
  return b.getDictionaryAttr({
      b.getNamedAttr("name", b.getStringAttr(name)),
      b.getNamedAttr("of", b.getStringAttr(of)),
      b.getNamedAttr("dtype", b.getStringAttr(dtype)),
      b.getNamedAttr("dims", b.getDenseI64ArrayAttr(dims)),
      b.getNamedAttr("strides_bytes", b.getDenseI64ArrayAttr(stridesBytes)),
      b.getNamedAttr("box", b.getDenseI64ArrayAttr(box)),
      b.getNamedAttr("element_strides",
                     b.getDenseI64ArrayAttr(elementStrides)),
      b.getNamedAttr("swizzle_bytes", b.getI64IntegerAttr(swizzleBytes)),
      b.getNamedAttr("l2_promotion_bytes",
                     b.getI64IntegerAttr(l2PromotionBytes)),
      b.getNamedAttr("oob_fill", b.getStringAttr(oobFill)),
  });
}

FailureOr<TensorMapArg> TensorMapArg::fromAttr(DictionaryAttr attr,
                                               std::string &error) {
  TensorMapArg map;
  auto fail = [&](StringRef key, StringRef what) {
    error = ("spa.launch: tensor map '" + key + "' is missing or not " + what)
                .str();
    return failure();
  };
  for (auto [key, into] : {std::pair{"name", &map.name},
                           std::pair{"of", &map.of},
                           std::pair{"dtype", &map.dtype},
                           std::pair{"oob_fill", &map.oobFill}}) {
    auto text = attr.getAs<StringAttr>(key);
    if (!text)
      return fail(key, "a string");
    *into = text.str();
  }
  for (auto [key, into] :
       {std::pair{"dims", &map.dims},
        std::pair{"strides_bytes", &map.stridesBytes},
        std::pair{"box", &map.box},
        std::pair{"element_strides", &map.elementStrides}}) {
    auto values = attr.getAs<DenseI64ArrayAttr>(key);
    if (!values)
      return fail(key, "an i64 array");
    into->assign(values.asArrayRef().begin(), values.asArrayRef().end());
  }
  for (auto [key, into] :
       {std::pair{"swizzle_bytes", &map.swizzleBytes},
        std::pair{"l2_promotion_bytes", &map.l2PromotionBytes}}) {
    auto value = attr.getAs<IntegerAttr>(key);
    if (!value)
      return fail(key, "an integer");
    *into = value.getInt();
  }
  size_t rank = map.dims.size();
  if (rank < 1 || rank > 5 || map.stridesBytes.size() != rank - 1 ||
      map.box.size() != rank || map.elementStrides.size() != rank)
    return fail("dims", "of rank 1 to 5 with matching strides and boxes");
  return map;
}

llvm::json::Object TensorMapArg::toJson() const {
  auto array = [](ArrayRef<int64_t> values) {
    llvm::json::Array out;
    for (int64_t v : values)
      out.push_back(v);
    return out;
  };
  llvm::json::Object a;
  a["name"] = name;
  a["kind"] = "tensor_map";
  a["of"] = of;
  a["dtype"] = dtype;
  a["dims"] = array(dims);
  a["strides_bytes"] = array(stridesBytes);
  a["box"] = array(box);
  a["element_strides"] = array(elementStrides);
  a["swizzle_bytes"] = swizzleBytes;
  a["l2_promotion_bytes"] = l2PromotionBytes;
  a["oob_fill"] = oobFill;
  return a;
}

FailureOr<KernelLaunch> KernelLaunch::fromAttr(DictionaryAttr attr,
                                               std::string &error) {
  KernelLaunch launch;
  auto missing = [&](StringRef key, StringRef what) {
    error = ("spa.launch: '" + key + "' is missing or not " + what).str();
    return failure();
  };
  auto triple = [&](StringRef key, std::array<int64_t, 3> &into) {
    auto a = attr.getAs<DenseI64ArrayAttr>(key);
    if (!a || a.size() != 3)
      return false;
    llvm::copy(a.asArrayRef(), into.begin());
    return true;
  };
  if (!triple("grid", launch.grid))
    return missing("grid", "three i64");
  if (!triple("block", launch.block))
    return missing("block", "three i64");
  auto tile = attr.getAs<DenseI64ArrayAttr>("tile");
  if (!tile || tile.size() != 2)
    return missing("tile", "two i64");
  llvm::copy(tile.asArrayRef(), launch.tile.begin());
  if (Attribute maxBlocks = attr.get("max_blocks")) {
    auto value = dyn_cast<IntegerAttr>(maxBlocks);
    if (!value || value.getInt() < 1)
      return missing("max_blocks", "a positive i64");
    launch.maxBlocks = value.getInt();
  }
  if (Attribute minBlocks = attr.get("min_blocks_per_sm")) {
    auto value = dyn_cast<IntegerAttr>(minBlocks);
    if (!value || value.getInt() < 1)
      return missing("min_blocks_per_sm", "a positive i64");
    launch.minBlocksPerSM = value.getInt();
  }
  if (Attribute programmatic = attr.get("programmatic_launch")) {
    if (!isa<UnitAttr>(programmatic))
      return missing("programmatic_launch", "a unit attribute");
    launch.programmaticLaunch = true;
  }
  auto names = attr.getAs<ArrayAttr>("args");
  if (!names)
    return missing("args", "an array of names");
  for (Attribute name : names) {
    auto text = dyn_cast<StringAttr>(name);
    if (!text)
      return missing("args", "an array of names");
    launch.args.push_back(text.str());
  }
  for (auto [key, into] : {std::pair{"bounds", &launch.bounds},
                           std::pair{"work", &launch.work}}) {
    auto values = attr.getAs<DenseI32ArrayAttr>(key);
    if (!values)
      return missing(key, "an i32 array");
    into->assign(values.asArrayRef().begin(), values.asArrayRef().end());
  }
  if (Attribute slots = attr.get("score_grad_slots")) {
    auto values = dyn_cast<DenseI32ArrayAttr>(slots);
    if (!values)
      return missing("score_grad_slots", "an i32 array");
    launch.scoreGradSlots.assign(values.asArrayRef().begin(),
                                 values.asArrayRef().end());
  }
  auto types = attr.getAs<ArrayAttr>("arg_types");
  if (!types && attr.get("arg_types"))
    return missing("arg_types", "an array of types");
  for (Attribute type : types ? types.getValue() : ArrayRef<Attribute>{}) {
    auto typeAttr = dyn_cast<TypeAttr>(type);
    if (!typeAttr)
      return missing("arg_types", "an array of types");
    launch.argTypes.push_back(typeAttr.getValue());
  }
  if (!launch.argTypes.empty() && launch.argTypes.size() != launch.args.size())
    return missing("arg_types", "one type per argument");
  launch.bands = attr.get("bands");
  if (!launch.bands)
    return missing("bands", "present");
  auto mma = attr.getAs<StringAttr>("mma");
  if (!mma || (mma.getValue() != "wgmma" && mma.getValue() != "mma.sync"))
    return missing("mma", "\"wgmma\" or \"mma.sync\"");
  launch.mma = mma.getValue() == "wgmma" ? MmaKind::Wgmma : MmaKind::MmaSync;
  for (auto [key, into] :
       {std::pair{"static_shared_bytes", &launch.staticSharedBytes},
        std::pair{"dynamic_shared_bytes", &launch.dynamicSharedBytes}}) {
    auto value = attr.getAs<IntegerAttr>(key);
    if (!value)
      return missing(key, "an integer");
    *into = value.getInt();
  }
  auto role = attr.getAs<StringAttr>("role");
  const StringRef roles[] = {"forward",    "combine",   "preprocess",
                             "dkdv",       "dq",        "dkdv_dq",
                             "dq_convert", "dq_stored", "dkdv_dq_stored"};
  if (!role || !llvm::is_contained(roles, role.getValue()))
    return missing("role", "\"forward\", \"combine\", \"preprocess\", "
                           "\"dkdv\", \"dq\", \"dkdv_dq\", \"dq_convert\", "
                           "\"dq_stored\" or \"dkdv_dq_stored\"");
  launch.role = role.str();
  auto op = attr.getAs<IntegerAttr>("op");
  if (!op)
    return missing("op", "an integer");
  launch.op = op.getInt();
  auto maps = attr.getAs<ArrayAttr>("tensor_maps");
  if (!maps)
    return missing("tensor_maps", "an array");
  for (Attribute entry : maps) {
    auto dict = dyn_cast<DictionaryAttr>(entry);
    if (!dict)
      return missing("tensor_maps", "an array of dictionaries");
    FailureOr<TensorMapArg> map = TensorMapArg::fromAttr(dict, error);
    if (failed(map))
      return failure();
    launch.tensorMaps.push_back(std::move(*map));
  }
  return launch;
}

llvm::json::Object KernelLaunch::toJson(gpu::GPUFuncOp func) const {
  auto array = [](auto values) {
    llvm::json::Array out;
    for (auto v : values)
      out.push_back(int64_t(v));
    return out;
  };
  auto text = [](auto printable) {
    std::string out;
    llvm::raw_string_ostream os(out);
    printable.print(os);
    return out;
  };
  llvm::json::Object kernel;
  kernel["name"] = func.getName().str();
  kernel["grid"] = array(grid);
  kernel["block"] = array(block);
  kernel["tile"] = array(tile);
  kernel["shared_bytes"] = dynamicSharedBytes;
  kernel["kernel_shared_bytes"] = staticSharedBytes + dynamicSharedBytes;
  kernel["mma"] = stringifyMmaKind(mma).str();
  if (minBlocksPerSM > 0)
    kernel["min_blocks_per_sm"] = minBlocksPerSM;
  if (programmaticLaunch)
    kernel["programmatic_launch"] = true;
  kernel["bands"] = text(bands);
  kernel["role"] = role;
  kernel["op"] = op;
  // Run-time lengths: one block per (batch, head, query tile), counted by
  // the launcher from query_len (runtime/lengths.py).
  if (dynamicLengths()) {
    auto query = cast<MemRefType>(argTypes.front());
    llvm::json::Object items;
    items["batch"] = query.getDimSize(0);
    items["heads"] = query.getDimSize(1);
    items["tile_rows"] = tile[0];
    items["rows"] = "query_len";
    if (maxBlocks > 0)
      items["max_blocks"] = maxBlocks;
    kernel["grid_items"] = std::move(items);
  }
  llvm::json::Array jsonArgs;
  // Kernel parameters only (the entry block also holds the workgroup
  // attributions).
  ArrayRef<Type> types = dynamicLengths() ? ArrayRef<Type>(argTypes)
                                          : func.getFunctionType().getInputs();
  for (auto [name, argType] : llvm::zip_equal(args, types)) {
    if (const TensorMapArg *map = tensorMap(name)) {
      jsonArgs.push_back(map->toJson());
      continue;
    }
    llvm::json::Object a;
    a["name"] = name;
    if (argRole(name) == KernelArgRole::Length) {
      a["kind"] = "length";
      a["dtype"] = "i64";
      a["of"] = name == "key_len" ? "key" : "query";
      a["dim"] = 2;
      jsonArgs.push_back(std::move(a));
      continue;
    }
    auto type = cast<MemRefType>(argType);
    a["dtype"] = text(type.getElementType());
    llvm::json::Array shape;
    for (int64_t size : type.getShape())
      shape.push_back(ShapedType::isDynamic(size) ? kLauncherFills : size);
    a["shape"] = std::move(shape);
    if (type.hasStaticShape()) {
      // Element strides of the layout the kernel indexes (contiguous for an
      // identity layout); the runtime checks every tensor against them.
      // convert-spa-to-gpu admits static strided layouts only.
      a["strides"] = array(type.getStridesAndOffset().first);
    } else {
      // The sequence length is the call's: contiguous strides follow from
      // it, and `length` names the argument that gives it.
      a["strides"] = nullptr;
      a["length"] = name == "key" || name == "value" ? "key_len" : "query_len";
    }
    switch (argRole(name)) {
    case KernelArgRole::Constant:
      a["kind"] = "constant";
      if (auto policy = dyn_cast_or_null<BandPolicyAttr>(bands);
          policy && name == "bounds") {
        // Evaluated per call by the planner: the closed form
        // spa.band_bounds computes.
        llvm::json::Object p;
        p["name"] = stringifyBandPolicyKind(policy.getKind()).str();
        p["mode"] = stringifyBandMode(policy.getMode()).str();
        p["window"] = policy.getWindow();
        a["policy"] = std::move(p);
      } else {
        a["values"] = array(constantValues(name));
      }
      break;
    case KernelArgRole::Length:
      llvm_unreachable("lengths are written above");
    case KernelArgRole::Output:
      a["kind"] = "output";
      break;
    case KernelArgRole::Input:
      a["kind"] = "input";
      break;
    case KernelArgRole::Scratch:
      a["kind"] = "scratch";
      break;
    case KernelArgRole::TensorMap:
      llvm_unreachable("tensor maps are written above");
    }
    jsonArgs.push_back(std::move(a));
  }
  kernel["args"] = std::move(jsonArgs);
  return kernel;
}
