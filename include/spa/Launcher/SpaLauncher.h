/*===- SpaLauncher.h - launches an spa op's kernels from a packed plan ----===*
 *
 * A plain C library (no CUDA headers, no libc, nothing linked) that Python
 * loads with ctypes to issue the kernels of one spa op (a forward, or the
 * gradient's dQ and dK,dV kernels) with one foreign call: the
 * per-call work is a few table reads and one cuLaunchKernel (or
 * cuLaunchKernelEx, for a programmatic launch) per kernel.
 * The driver entry points are handed in by the caller (who dlopen()ed
 * libcuda.so.1), so the library runs wherever libcuda does and tests can
 * hand in recorders instead.
 *
 * A plan is an int64 array, built once per loaded op
 * (python/spa/runtime/launcher.py, encode_plan):
 *
 *   [SPA_PLAN_MAGIC, length, kernels, slots, context,
 *    per kernel: function, grid x y z, block x y z, shared bytes, flags,
 *                args,
 *                per argument: kind, value
 *                              (+ SPA_TENSOR_MAP_RECORD words for a map)]
 *
 * `length` counts the whole array; `slots` is the number of device
 * pointers a call passes (the op's inputs, outputs and scratch buffers);
 * `context` the CUcontext the functions belong to (0: whatever is
 * current). `flags` is 0 or SPA_KERNEL_PROGRAMMATIC: a kernel that waits
 * for the grids before it (griddepcontrol.wait) before it touches memory,
 * launched through cuLaunchKernelEx with programmatic stream
 * serialization where spa_launcher_set_launch_ex was given it (else by
 * cuLaunchKernel, which is as correct, without the overlap).
 *
 * An argument of kind SPA_ARG_SLOT takes the call's pointer at index
 * `value`; one of kind SPA_ARG_CONSTANT passes `value` itself (the device
 * address of a buffer the plan's owner keeps alive).
 *
 * An argument of kind SPA_ARG_TENSOR_MAP is a TMA descriptor (CUtensorMap,
 * 128 bytes, passed by value as a 64-byte-aligned kernel parameter) of the
 * buffer in slot `value`. Its record follows inline, SPA_TENSOR_MAP_RECORD
 * words, the arguments of cuTensorMapEncodeTiled without the address
 * (innermost dimension first; entries past `rank` are 0):
 *
 *   [dtype, rank, dims[5], strides_bytes[4], box[5], element_strides[5],
 *    interleave, swizzle, l2_promotion, oob_fill]
 *
 * The map holds the buffer's address, which changes per call, so every
 * call encodes it (the encoder handed to
 * spa_launcher_set_tensor_map_encoder) into a 64-byte-aligned 128-byte
 * buffer whose address is the kernel parameter.
 *===----------------------------------------------------------------------===*/

#ifndef SPA_LAUNCHER_SPALAUNCHER_H
#define SPA_LAUNCHER_SPALAUNCHER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPA_LAUNCHER_ABI 3
#define SPA_PLAN_MAGIC 0x53504c33 /* "SPL3" (ABI 2's: "SPL2", 1's "SPL1") */
#define SPA_PLAN_HEADER 5
#define SPA_KERNEL_HEADER 10
/* A kernel header's flags. */
#define SPA_KERNEL_PROGRAMMATIC 1
#define SPA_MAX_ARGS 64
/* Every pointer a call passes must be this aligned (the kernels' widest
 * vector and bulk copies are 16 bytes). */
#define SPA_POINTER_ALIGN 16
/* A tensor-map argument's inline record (words after [kind, slot]), the
 * most maps one kernel may take, and the map's size and alignment. */
#define SPA_TENSOR_MAP_RECORD 25
#define SPA_MAX_TENSOR_MAPS 8
#define SPA_TENSOR_MAP_WORDS 16 /* sizeof(CUtensorMap) / 8 */
#define SPA_TENSOR_MAP_ALIGN 64
/* cuTensorMapEncodeTiled's limits, checked when a plan is decoded. */
#define SPA_TENSOR_MAP_MAX_RANK 5
#define SPA_TENSOR_MAP_MAX_BOX 256
#define SPA_TENSOR_MAP_MAX_ELEMENT_STRIDE 8
#define SPA_TENSOR_MAP_STRIDE_ALIGN 16
/* Every enum field of a record (dtype, interleave, swizzle, l2 promotion,
 * oob fill) must lie in [0, SPA_TENSOR_MAP_ENUM_LIMIT); the driver checks
 * the exact values. */
#define SPA_TENSOR_MAP_ENUM_LIMIT 16

enum SpaArgKind {
  SPA_ARG_SLOT = 0,
  SPA_ARG_CONSTANT = 1,
  SPA_ARG_TENSOR_MAP = 2
};

/* Negative results: the call was refused before any launch. */
enum SpaLaunchError {
  SPA_E_BAD_PLAN = -1,      /* magic, length, a count, a flag or a
                               tensor-map record out of range, > 8 maps a
                               kernel */
  SPA_E_SLOT_COUNT = -2,    /* the call's slot count is not the plan's */
  SPA_E_BAD_SLOT = -3,      /* an argument names a slot past the end */
  SPA_E_NULL_POINTER = -4,  /* a slot pointer is 0 */
  SPA_E_MISALIGNED = -5,    /* a slot pointer is not SPA_POINTER_ALIGN'd */
  SPA_E_TOO_MANY_ARGS = -6, /* a kernel has more than SPA_MAX_ARGS */
  SPA_E_BAD_DIMS = -7,      /* a grid or block size outside [1, 2^31) */
  SPA_E_NO_DRIVER = -8,     /* spa_launcher_set_driver was not called */
  SPA_E_BUFFER = -9,        /* spa_pack_op's output buffer is too small */
  SPA_E_CONTEXT = -10,      /* the plan's context could not be made current */
  SPA_E_TENSOR_MAP = -11    /* a plan has a tensor map but no encoder was set,
                               or the encoder refused a map */
};

/* The driver entry points, as libcuda exports them. */
typedef int (*SpaLaunchKernelFn)(void *function, unsigned grid_x,
                                 unsigned grid_y, unsigned grid_z,
                                 unsigned block_x, unsigned block_y,
                                 unsigned block_z, unsigned shared_bytes,
                                 void *stream, void **params, void **extra);
typedef int (*SpaCtxGetCurrentFn)(void **context);
typedef int (*SpaCtxPushFn)(void *context);
typedef int (*SpaCtxPopFn)(void **context);
/* cuTensorMapEncodeTiled (its enums are C ints; tensor_map points at 128
 * bytes aligned to 64). */
typedef int (*SpaTensorMapEncodeFn)(
    void *tensor_map, int dtype, uint32_t rank, void *global_address,
    const uint64_t *dims, const uint64_t *strides_bytes, const uint32_t *box,
    const uint32_t *element_strides, int interleave, int swizzle,
    int l2_promotion, int oob_fill);

/* cuLaunchKernelEx (config: a CUlaunchConfig, whose layout
 * SpaLauncher.c mirrors without CUDA headers). */
typedef int (*SpaLaunchKernelExFn)(const void *config, void *function,
                                   void **params, void **extra);

/* SPA_LAUNCHER_ABI: Python refuses a library of another ABI. */
int spa_launcher_abi(void);

/* cuLaunchKernel, cuCtxGetCurrent, cuCtxPushCurrent_v2, cuCtxPopCurrent_v2
 * (any may be 0 but the first). Returns 0, or SPA_E_NO_DRIVER. */
int spa_launcher_set_driver(SpaLaunchKernelFn launch_kernel,
                            SpaCtxGetCurrentFn ctx_get_current,
                            SpaCtxPushFn ctx_push, SpaCtxPopFn ctx_pop);

/* cuLaunchKernelEx, for kernels flagged SPA_KERNEL_PROGRAMMATIC (0 unsets
 * it: they are then launched by cuLaunchKernel). Returns 0. */
int spa_launcher_set_launch_ex(SpaLaunchKernelExFn launch_ex);

/* cuTensorMapEncodeTiled, for plans with tensor-map arguments (0 unsets
 * it: such plans are then refused with SPA_E_TENSOR_MAP). Returns 0. */
int spa_launcher_set_tensor_map_encoder(SpaTensorMapEncodeFn encode);

/* Launches the plan's kernels in order on `stream` with the `slot_count`
 * device pointers `slots`, making the plan's context current around the
 * launches if it is not. Every kernel is decoded and its tensor maps
 * encoded before any is launched. Returns 0; a SpaLaunchError (nothing
 * launched); or, when the driver refused kernel i, (i << 20) | its
 * CUresult (kernels before i were launched). */
int64_t spa_launch_op(const int64_t *plan, const uint64_t *slots,
                      int64_t slot_count, void *stream);

/* What spa_launch_op would pass the driver, without a driver: per kernel
 * [function, grid x y z, block x y z, shared bytes, flags, stream, args,
 * argument values...] into `out`, where a tensor-map argument's value is
 * its SPA_TENSOR_MAP_WORDS encoded words (encoded by the encoder set, as
 * a launch would) and any other argument's one word. Returns the int64s
 * written or a SpaLaunchError. The same decoder as spa_launch_op (tests compare
 * it with the Python launcher's packing). */
int64_t spa_pack_op(const int64_t *plan, const uint64_t *slots,
                    int64_t slot_count, void *stream, int64_t *out,
                    int64_t capacity);

/* A SpaLaunchKernelFn that returns 0 and does nothing (for timing). */
int spa_launcher_null_launch(void *function, unsigned grid_x, unsigned grid_y,
                             unsigned grid_z, unsigned block_x,
                             unsigned block_y, unsigned block_z,
                             unsigned shared_bytes, void *stream,
                             void **params, void **extra);

/* A SpaTensorMapEncodeFn that zeroes the map and returns 0 (for timing). */
int spa_launcher_null_tensor_map_encode(
    void *tensor_map, int dtype, uint32_t rank, void *global_address,
    const uint64_t *dims, const uint64_t *strides_bytes, const uint32_t *box,
    const uint32_t *element_strides, int interleave, int swizzle,
    int l2_promotion, int oob_fill);

#ifdef __cplusplus
}
#endif

#endif /* SPA_LAUNCHER_SPALAUNCHER_H */
