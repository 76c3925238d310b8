//===- SpaBase.td - spa dialect definition -----------------*- tablegen -*-===//
//
// The `spa` dialect: banded multi-head attention (SPAttention) as a
// first-class operation. Enumerations shared by the attributes and ops live
// here too.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_DIALECT_SPA_IR_SPABASE_TD
#define SPA_DIALECT_SPA_IR_SPABASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Spa_Dialect : Dialect {
  let name = "spa";
  let cppNamespace = "::mlir::spa";
  let summary = "Banded multi-head attention (SPAttention)";
  let description = [{
    The `spa` dialect models banded multi-head attention: each query head
    attends only to the keys whose *distance* from the query lies in that
    head's set of half-open intervals. Together the heads typically cover the
    distance range once, so a layer costs about one head's worth of attention
    instead of H.

    The dialect has one computational op, `spa.attention`, and two
    attributes describing the head-to-band assignment: `#spa.bands` (a
    concrete table) and `#spa.band_policy` (an unresolved plan, turned into a
    table by `-spa-balance-bands`).
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes (defined where their storage is visible).
    void registerAttributes();
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class Spa_Op<string mnemonic, list<Trait> traits = []>
    : Op<Spa_Dialect, mnemonic, traits>;

def Spa_BandMode : I32EnumAttr<"BandMode",
    "how the distance between a query and a key is measured", [
      I32EnumAttrCase<"Causal", 0, "causal">,
      I32EnumAttrCase<"Bidirectional", 1, "bidirectional">
    ]> {
  let cppNamespace = "::mlir::spa";
  let genSpecializedAttr = 0;
}

def Spa_BandPolicyKind : I32EnumAttr<"BandPolicyKind",
    "a band policy from SPEC.md", [
      I32EnumAttrCase<"ExclusiveEqual", 0, "exclusive_equal">,
      I32EnumAttrCase<"LocalPlusBand", 1, "local_plus_band">,
      I32EnumAttrCase<"GappedHalf", 2, "gapped_half">,
      I32EnumAttrCase<"SlidingWindow", 3, "sliding_window">,
      I32EnumAttrCase<"DenseCausal", 4, "dense_causal">,
      I32EnumAttrCase<"PairBalanced", 5, "pair_balanced">,
      I32EnumAttrCase<"TileBalanced", 6, "tile_balanced">
    ]> {
  let cppNamespace = "::mlir::spa";
  let genSpecializedAttr = 0;
}

#endif // SPA_DIALECT_SPA_IR_SPABASE_TD
