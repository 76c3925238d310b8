//===- PolicyOption.cpp - the typed `policy` pass option ------------------===//

#include "spa/Dialect/Spa/Transforms/PolicyOption.h"

using namespace mlir::spa;

std::string PolicyOverride::validNames() {
  std::string names;
  for (uint32_t i = 0; i <= getMaxEnumValForBandPolicyKind(); ++i)
    if (std::optional<BandPolicyKind> kind = symbolizeBandPolicyKind(i))
      names += (names.empty() ? "" : ", ") +
               stringifyBandPolicyKind(*kind).str();
  return names;
}

llvm::raw_ostream &mlir::spa::operator<<(llvm::raw_ostream &os,
                                         const PolicyOverride &policy) {
  if (policy.kind)
    os << stringifyBandPolicyKind(*policy.kind);
  return os;
}

namespace llvm::cl {

bool parser<PolicyOverride>::parse(Option &option, StringRef, StringRef arg,
                                   PolicyOverride &value) {
  if (arg.empty()) {
    value = PolicyOverride();
    return false;
  }
  std::optional<BandPolicyKind> kind = symbolizeBandPolicyKind(arg);
  if (!kind)
    return option.error("unknown policy '" + arg + "'; expected one of " +
                        PolicyOverride::validNames() +
                        " (or nothing: each op keeps its own)");
  value = PolicyOverride(*kind);
  return false;
}

void parser<PolicyOverride>::printOptionDiff(const Option &option,
                                             PolicyOverride value,
                                             const OptVal &,
                                             size_t globalWidth) const {
  printOptionName(option, globalWidth);
  std::string text;
  raw_string_ostream os(text);
  os << value;
  outs() << "= " << text << "\n";
}

void parser<PolicyOverride>::anchor() {}

} // namespace llvm::cl
