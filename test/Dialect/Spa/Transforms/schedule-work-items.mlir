// -spa-schedule-work-items: OpenMP loops without a schedule take
// schedule(dynamic, 1) (work items of unequal cost balance across
// threads); a loop that has a schedule keeps it.
// RUN: spa-opt %s -spa-schedule-work-items | FileCheck %s

// CHECK-LABEL: func.func @unscheduled
// CHECK: %[[ONE:.*]] = arith.constant 1 : i32
// CHECK: omp.wsloop schedule(dynamic = %[[ONE]] : i32)
func.func @unscheduled(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// CHECK-LABEL: func.func @scheduled
// CHECK: omp.wsloop schedule(static)
// CHECK-NOT: dynamic
func.func @scheduled(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop schedule(static) {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
