//===- PolicyOption.h - the typed `policy` pass option ----------*- C++ -*-===//
//
// `-spa-balance-bands{policy=...}` and the pipelines' `policy` option: a
// band policy kind (the dialect's BandPolicyKind enum, whose spellings are
// the planning library's one list of names) or none, meaning each op keeps
// its own. A command-line parser makes a typo an option error that lists the
// valid names, before any pass runs.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_DIALECT_SPA_TRANSFORMS_POLICYOPTION_H
#define SPA_DIALECT_SPA_TRANSFORMS_POLICYOPTION_H

#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "llvm/Support/CommandLine.h"

#include <optional>
#include <string>

namespace mlir::spa {

/// A policy to impose on every op, or none.
struct PolicyOverride {
  std::optional<BandPolicyKind> kind;

  PolicyOverride() = default;
  PolicyOverride(BandPolicyKind kind) : kind(kind) {}
  bool operator==(const PolicyOverride &other) const {
    return kind == other.kind;
  }
  /// "exclusive_equal, local_plus_band, ...": what `policy=` accepts.
  static std::string validNames();
};

/// The option spelling: the policy name, or nothing for none.
llvm::raw_ostream &operator<<(llvm::raw_ostream &os,
                              const PolicyOverride &policy);

} // namespace mlir::spa

namespace llvm::cl {
template <>
class parser<mlir::spa::PolicyOverride>
    : public basic_parser<mlir::spa::PolicyOverride> {
public:
  parser(Option &option) : basic_parser(option) {}
  /// An empty value is none; anything else must be a policy name.
  bool parse(Option &option, StringRef argName, StringRef arg,
             mlir::spa::PolicyOverride &value);
  StringRef getValueName() const override { return "policy"; }
  void printOptionDiff(const Option &option, mlir::spa::PolicyOverride value,
                       const OptVal &defaultValue, size_t globalWidth) const;
  void anchor() override;
};
} // namespace llvm::cl

#endif // SPA_DIALECT_SPA_TRANSFORMS_POLICYOPTION_H
