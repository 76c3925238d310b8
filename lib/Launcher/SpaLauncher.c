/*===- SpaLauncher.c - launches an spa op's kernels from a packed plan ----===*
 *
 * See include/spa/Launcher/SpaLauncher.h for the plan format and the
 * contract. One decoder (decode_kernel) serves both the launch and the
 * driver-free packing that the tests read, so what is tested is what is
 * launched. No libc: nothing here needs it, and so the library loads on any
 * x86-64 Linux whatever its glibc.
 *===----------------------------------------------------------------------===*/

#include "spa/Launcher/SpaLauncher.h"

#define EXPORT __attribute__((visibility("default")))

static SpaLaunchKernelFn launch_kernel;
static SpaCtxGetCurrentFn ctx_get_current;
static SpaCtxPushFn ctx_push;
static SpaCtxPopFn ctx_pop;

EXPORT int spa_launcher_abi(void) { return SPA_LAUNCHER_ABI; }

EXPORT int spa_launcher_set_driver(SpaLaunchKernelFn launch,
                                   SpaCtxGetCurrentFn get_current,
                                   SpaCtxPushFn push, SpaCtxPopFn pop) {
  if (!launch)
    return SPA_E_NO_DRIVER;
  launch_kernel = launch;
  ctx_get_current = get_current;
  ctx_push = push;
  ctx_pop = pop;
  return 0;
}

/* One kernel's launch, resolved against a call's pointers. */
typedef struct {
  uint64_t function;
  unsigned grid[3], block[3], shared;
  int64_t args;
  uint64_t values[SPA_MAX_ARGS];
} Launch;

/* Checks the header against the call; returns the kernel count or an
 * error. */
static int64_t decode_header(const int64_t *plan, int64_t slot_count) {
  if (!plan || plan[0] != SPA_PLAN_MAGIC || plan[1] < SPA_PLAN_HEADER ||
      plan[2] < 0 || plan[3] < 0)
    return SPA_E_BAD_PLAN;
  if (slot_count != plan[3])
    return SPA_E_SLOT_COUNT;
  return plan[2];
}

static int dim_ok(int64_t d) { return d >= 1 && d < ((int64_t)1 << 31); }

/* Decodes the kernel at plan[*at] into `out` and moves *at past it. */
static int64_t decode_kernel(const int64_t *plan, int64_t *at,
                             const uint64_t *slots, int64_t slot_count,
                             Launch *out) {
  const int64_t length = plan[1];
  int64_t i = *at;
  if (i + SPA_KERNEL_HEADER > length)
    return SPA_E_BAD_PLAN;
  const int64_t *k = plan + i;
  for (int d = 0; d < 3; ++d) {
    if (!dim_ok(k[1 + d]) || !dim_ok(k[4 + d]))
      return SPA_E_BAD_DIMS;
    out->grid[d] = (unsigned)k[1 + d];
    out->block[d] = (unsigned)k[4 + d];
  }
  if (k[7] < 0 || k[7] >= ((int64_t)1 << 32))
    return SPA_E_BAD_PLAN;
  out->function = (uint64_t)k[0];
  out->shared = (unsigned)k[7];
  out->args = k[8];
  if (out->args < 0 || out->args > SPA_MAX_ARGS)
    return SPA_E_TOO_MANY_ARGS;
  i += SPA_KERNEL_HEADER;
  if (i + 2 * out->args > length)
    return SPA_E_BAD_PLAN;
  for (int64_t a = 0; a < out->args; ++a, i += 2) {
    uint64_t value;
    if (plan[i] == SPA_ARG_SLOT) {
      if (plan[i + 1] < 0 || plan[i + 1] >= slot_count)
        return SPA_E_BAD_SLOT;
      value = slots[plan[i + 1]];
      if (value == 0)
        return SPA_E_NULL_POINTER;
      if (value % SPA_POINTER_ALIGN != 0)
        return SPA_E_MISALIGNED;
    } else if (plan[i] == SPA_ARG_CONSTANT) {
      /* 0 is a constant table without elements, which no kernel reads. */
      value = (uint64_t)plan[i + 1];
    } else {
      return SPA_E_BAD_PLAN;
    }
    out->values[a] = value;
  }
  *at = i;
  return 0;
}

/* Decodes every kernel before launching any, so a bad plan or call
 * launches nothing. Returns the kernel count or an error. */
static int64_t decode_all(const int64_t *plan, const uint64_t *slots,
                          int64_t slot_count, Launch *launches,
                          int64_t max_kernels) {
  int64_t kernels = decode_header(plan, slot_count);
  if (kernels < 0)
    return kernels;
  if (kernels > max_kernels)
    return SPA_E_BAD_PLAN;
  int64_t at = SPA_PLAN_HEADER;
  for (int64_t n = 0; n < kernels; ++n) {
    int64_t err = decode_kernel(plan, &at, slots, slot_count, &launches[n]);
    if (err)
      return err;
  }
  if (at != plan[1])
    return SPA_E_BAD_PLAN;
  return kernels;
}

/* An op has at most a handful of kernels (the gradient: three). */
#define MAX_KERNELS 8

EXPORT int64_t spa_launch_op(const int64_t *plan, const uint64_t *slots,
                             int64_t slot_count, void *stream) {
  Launch launches[MAX_KERNELS];
  if (!launch_kernel)
    return SPA_E_NO_DRIVER;
  int64_t kernels = decode_all(plan, slots, slot_count, launches,
                               MAX_KERNELS);
  if (kernels < 0)
    return kernels;
  /* The functions belong to the plan's context: launch there (a thread
   * whose current context is another device's, or none). */
  void *context = (void *)(uintptr_t)plan[4];
  int pushed = 0;
  if (context && ctx_get_current && ctx_push && ctx_pop) {
    void *current = 0;
    if (ctx_get_current(&current) != 0)
      return SPA_E_CONTEXT;
    if (current != context) {
      if (ctx_push(context) != 0)
        return SPA_E_CONTEXT;
      pushed = 1;
    }
  }
  int64_t result = 0;
  for (int64_t n = 0; n < kernels && result == 0; ++n) {
    Launch *l = &launches[n];
    void *params[SPA_MAX_ARGS];
    for (int64_t a = 0; a < l->args; ++a)
      params[a] = &l->values[a];
    int err = launch_kernel((void *)(uintptr_t)l->function, l->grid[0],
                            l->grid[1], l->grid[2], l->block[0], l->block[1],
                            l->block[2], l->shared, stream, params, 0);
    if (err != 0)
      result = (n << 20) | (err & 0xfffff);
  }
  if (pushed) {
    void *popped;
    ctx_pop(&popped);
  }
  return result;
}

EXPORT int64_t spa_pack_op(const int64_t *plan, const uint64_t *slots,
                           int64_t slot_count, void *stream, int64_t *out,
                           int64_t capacity) {
  Launch launches[MAX_KERNELS];
  int64_t kernels = decode_all(plan, slots, slot_count, launches,
                               MAX_KERNELS);
  if (kernels < 0)
    return kernels;
  int64_t w = 0;
  for (int64_t n = 0; n < kernels; ++n) {
    const Launch *l = &launches[n];
    if (w + 10 + l->args > capacity)
      return SPA_E_BUFFER;
    out[w++] = (int64_t)l->function;
    for (int d = 0; d < 3; ++d)
      out[w++] = l->grid[d];
    for (int d = 0; d < 3; ++d)
      out[w++] = l->block[d];
    out[w++] = l->shared;
    out[w++] = (int64_t)(uintptr_t)stream;
    out[w++] = l->args;
    for (int64_t a = 0; a < l->args; ++a)
      out[w++] = (int64_t)l->values[a];
  }
  return w;
}

/* A cuLaunchKernel stand-in that accepts every launch and does nothing:
 * handed to spa_launcher_set_driver (in a copy of the library of its own),
 * it lets spa_launch_op's cost be timed without a GPU. */
EXPORT int spa_launcher_null_launch(void *function, unsigned grid_x,
                                    unsigned grid_y, unsigned grid_z,
                                    unsigned block_x, unsigned block_y,
                                    unsigned block_z, unsigned shared_bytes,
                                    void *stream, void **params,
                                    void **extra) {
  (void)function, (void)grid_x, (void)grid_y, (void)grid_z, (void)block_x;
  (void)block_y, (void)block_z, (void)shared_bytes, (void)stream;
  (void)params, (void)extra;
  return 0;
}
