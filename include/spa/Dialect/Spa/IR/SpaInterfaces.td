//===- SpaInterfaces.td - spa op interfaces ----------------*- tablegen -*-===//
//
// `BandedAttentionOpInterface`: what the band passes need from an op that
// carries a band plan, so that `spa.attention` and `spa.attention_grad`
// share one planner, one bound expansion and one verifier.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_DIALECT_SPA_IR_SPAINTERFACES_TD
#define SPA_DIALECT_SPA_IR_SPAINTERFACES_TD

include "mlir/IR/OpBase.td"

def Spa_BandedAttentionOpInterface : OpInterface<"BandedAttentionOpInterface"> {
  let cppNamespace = "::mlir::spa";
  let description = [{
    An op whose work is banded attention over `query [B, Hq, Nq, D]` and
    `key [B, Hkv, Nk, D]` under a `bands` attribute (a `#spa.bands` table
    or a `#spa.band_policy`) with optional run-time `band_bounds`.
    `-spa-balance-bands` resolves the policy of every such op the same way,
    so a forward op and its gradient op get the same table.
  }];
  // Every method forwards to the op's own accessor of the same name (ODS
  // generates most of them), so implementing ops only list the interface.
  let methods = [
    InterfaceMethod<"The query operand [B, Hq, Nq, D].", "::mlir::Value",
                    "getQuery", (ins), [{}], [{ return $_op.getQuery(); }]>,
    InterfaceMethod<"The key operand [B, Hkv, Nk, D].", "::mlir::Value",
                    "getKey", (ins), [{}], [{ return $_op.getKey(); }]>,
    InterfaceMethod<"The bands attribute (table or policy).",
                    "::mlir::Attribute", "getBands", (ins), [{}],
                    [{ return $_op.getBands(); }]>,
    InterfaceMethod<"Replaces the bands attribute.", "void", "setBandsAttr",
                    (ins "::mlir::Attribute":$bands), [{}],
                    [{ $_op.setBandsAttr(bands); }]>,
    InterfaceMethod<"Run-time band bounds, or null.", "::mlir::Value",
                    "getBandBounds", (ins), [{}],
                    [{ return $_op.getBandBounds(); }]>,
    InterfaceMethod<"The run-time band bounds operand slot.",
                    "::mlir::MutableOperandRange", "getBandBoundsMutable",
                    (ins), [{}], [{ return $_op.getBandBoundsMutable(); }]>,
    InterfaceMethod<"True when the op works on tensors.", "bool",
                    "hasPureTensorSemantics", (ins), [{}],
                    [{ return $_op.hasPureTensorSemantics(); }]>,
    InterfaceMethod<"The scale applied to the scores: the attribute or "
                    "1/sqrt(D).", "double", "getEffectiveScale", (ins), [{}],
                    [{ return $_op.getEffectiveScale(); }]>,
  ];
  let extraClassDeclaration = [{
    /// The concrete band table, or null when `bands` is still a policy.
    ::mlir::spa::BandsAttr getBandTable() {
      return ::llvm::dyn_cast<::mlir::spa::BandsAttr>(getBands());
    }
    /// The distance mode, from the table or the policy.
    ::mlir::spa::BandMode getMode();
  }];
}

#endif // SPA_DIALECT_SPA_IR_SPAINTERFACES_TD
