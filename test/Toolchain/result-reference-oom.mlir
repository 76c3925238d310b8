// MLIR 22's parser allocates one placeholder per number of a result
// reference before checking it (%r#2147483647: "LLVM ERROR: out of memory").
// spa's front doors scan the text first and refuse numbers of 2^24 and more
// with a located error; small numbers still reach the parser's own check.
// RUN: not spa-opt %s 2>&1 | FileCheck %s
// RUN: not spa-run %s --entry f 2>&1 | FileCheck %s
// RUN: not spa-cuda-compile %s -o %t 2>&1 | FileCheck %s
// RUN: sed 's/2147483647/3/' %s | not spa-opt 2>&1 | FileCheck %s --check-prefix=SMALL

// A reference in a comment or a string is not one: %r#2147483647 "%s#99999999999"
func.func @f() -> i32 {
  // CHECK: result-reference-oom.mlir:[[# @LINE + 1]]:10: error: result reference %r#2147483647: result numbers of 2^24 and more are refused before parsing
  return %r#2147483647 : i32
}
// SMALL: error: use of undeclared SSA value name
