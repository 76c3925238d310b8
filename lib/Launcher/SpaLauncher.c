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
static SpaTensorMapEncodeFn tensor_map_encode;
static SpaLaunchKernelExFn launch_kernel_ex;

/* CUlaunchAttribute and CUlaunchConfig as cuda.h lays them out (an id
 * padded to 8 bytes and a 64-byte union; seven unsigned, the stream, the
 * attributes and their count), and the attribute programmatic launches
 * set (CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION). */
typedef struct {
  int id;
  char pad[4];
  union {
    char bytes[64];
    int value;
    uint64_t align;
  } value;
} LaunchAttribute;
typedef struct {
  unsigned grid[3], block[3], shared;
  void *stream;
  LaunchAttribute *attrs;
  unsigned count;
} LaunchConfig;
#define PROGRAMMATIC_STREAM_SERIALIZATION 6
_Static_assert(sizeof(LaunchAttribute) == 72, "CUlaunchAttribute's size");
_Static_assert(sizeof(LaunchConfig) == 56, "CUlaunchConfig's size");

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

EXPORT int spa_launcher_set_launch_ex(SpaLaunchKernelExFn launch_ex) {
  launch_kernel_ex = launch_ex;
  return 0;
}

EXPORT int spa_launcher_set_tensor_map_encoder(SpaTensorMapEncodeFn encode) {
  tensor_map_encode = encode;
  return 0;
}

/* One kernel's launch, resolved against a call's pointers: argument a is
 * values[a], or for a tensor map (map_of[a] >= 0) the encoded
 * maps[map_of[a]], whose address is the kernel parameter. */
typedef struct {
  uint64_t maps[SPA_MAX_TENSOR_MAPS][SPA_TENSOR_MAP_WORDS]
      __attribute__((aligned(SPA_TENSOR_MAP_ALIGN)));
  uint64_t function;
  unsigned grid[3], block[3], shared;
  int64_t flags, args;
  uint64_t values[SPA_MAX_ARGS];
  signed char map_of[SPA_MAX_ARGS];
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

static int in_range(int64_t v, int64_t lo, int64_t hi) {
  return v >= lo && v <= hi;
}

/* Checks a tensor-map record (SpaLauncher.h) against cuTensorMapEncodeTiled's
 * limits and encodes the map of the buffer at `address` into `map`. */
static int64_t encode_map(const int64_t *r, uint64_t address,
                          uint64_t map[SPA_TENSOR_MAP_WORDS]) {
  const int64_t rank = r[1];
  const int64_t *dims = r + 2, *strides = r + 7, *box = r + 11,
                *element_strides = r + 16, *enums = r + 21;
  uint64_t dim_words[SPA_TENSOR_MAP_MAX_RANK];
  uint64_t stride_words[SPA_TENSOR_MAP_MAX_RANK - 1];
  uint32_t box_words[SPA_TENSOR_MAP_MAX_RANK];
  uint32_t element_words[SPA_TENSOR_MAP_MAX_RANK];
  if (!in_range(r[0], 0, SPA_TENSOR_MAP_ENUM_LIMIT - 1) ||
      !in_range(rank, 1, SPA_TENSOR_MAP_MAX_RANK))
    return SPA_E_BAD_PLAN;
  for (int e = 0; e < 4; ++e)
    if (!in_range(enums[e], 0, SPA_TENSOR_MAP_ENUM_LIMIT - 1))
      return SPA_E_BAD_PLAN;
  for (int64_t d = 0; d < SPA_TENSOR_MAP_MAX_RANK; ++d) {
    if (d >= rank) {
      /* Past the rank: 0, so that one plan has one spelling. */
      if (dims[d] || box[d] || element_strides[d] ||
          (d >= 1 && strides[d - 1]))
        return SPA_E_BAD_PLAN;
      continue;
    }
    if (!in_range(dims[d], 1, (int64_t)1 << 32) ||
        !in_range(box[d], 1, SPA_TENSOR_MAP_MAX_BOX) ||
        !in_range(element_strides[d], 1, SPA_TENSOR_MAP_MAX_ELEMENT_STRIDE))
      return SPA_E_BAD_PLAN;
    dim_words[d] = (uint64_t)dims[d];
    box_words[d] = (uint32_t)box[d];
    element_words[d] = (uint32_t)element_strides[d];
    if (d >= 1) {
      const int64_t stride = strides[d - 1];
      if (!in_range(stride, SPA_TENSOR_MAP_STRIDE_ALIGN,
                    ((int64_t)1 << 40) - 1) ||
          stride % SPA_TENSOR_MAP_STRIDE_ALIGN != 0)
        return SPA_E_BAD_PLAN;
      stride_words[d - 1] = (uint64_t)stride;
    }
  }
  if (!tensor_map_encode)
    return SPA_E_TENSOR_MAP;
  if (tensor_map_encode(map, (int)r[0], (uint32_t)rank,
                        (void *)(uintptr_t)address, dim_words, stride_words,
                        box_words, element_words, (int)enums[0],
                        (int)enums[1], (int)enums[2], (int)enums[3]) != 0)
    return SPA_E_TENSOR_MAP;
  return 0;
}

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
  out->flags = k[8];
  if (out->flags & ~(int64_t)SPA_KERNEL_PROGRAMMATIC)
    return SPA_E_BAD_PLAN;
  out->args = k[9];
  if (out->args < 0 || out->args > SPA_MAX_ARGS)
    return SPA_E_TOO_MANY_ARGS;
  i += SPA_KERNEL_HEADER;
  int maps = 0;
  for (int64_t a = 0; a < out->args; ++a) {
    if (i + 2 > length)
      return SPA_E_BAD_PLAN;
    const int64_t kind = plan[i], arg = plan[i + 1];
    uint64_t value;
    out->map_of[a] = -1;
    if (kind == SPA_ARG_SLOT || kind == SPA_ARG_TENSOR_MAP) {
      if (arg < 0 || arg >= slot_count)
        return SPA_E_BAD_SLOT;
      value = slots[arg];
      if (value == 0)
        return SPA_E_NULL_POINTER;
      if (value % SPA_POINTER_ALIGN != 0)
        return SPA_E_MISALIGNED;
    } else if (kind == SPA_ARG_CONSTANT) {
      /* 0 is a constant table without elements, which no kernel reads. */
      value = (uint64_t)arg;
    } else {
      return SPA_E_BAD_PLAN;
    }
    i += 2;
    if (kind == SPA_ARG_TENSOR_MAP) {
      if (i + SPA_TENSOR_MAP_RECORD > length ||
          maps == SPA_MAX_TENSOR_MAPS)
        return SPA_E_BAD_PLAN;
      int64_t err = encode_map(plan + i, value, out->maps[maps]);
      if (err)
        return err;
      out->map_of[a] = (signed char)maps++;
      i += SPA_TENSOR_MAP_RECORD;
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
      params[a] = l->map_of[a] >= 0 ? (void *)l->maps[l->map_of[a]]
                                    : (void *)&l->values[a];
    int err;
    if ((l->flags & SPA_KERNEL_PROGRAMMATIC) && launch_kernel_ex) {
      /* Field by field: an aggregate initialiser may become a memset
       * call, and there is no libc (the union's other bytes are not
       * read for this attribute). */
      LaunchAttribute attribute;
      attribute.id = PROGRAMMATIC_STREAM_SERIALIZATION;
      attribute.value.value = 1;
      LaunchConfig config;
      for (int d = 0; d < 3; ++d) {
        config.grid[d] = l->grid[d];
        config.block[d] = l->block[d];
      }
      config.shared = l->shared;
      config.stream = stream;
      config.attrs = &attribute;
      config.count = 1;
      err =
          launch_kernel_ex(&config, (void *)(uintptr_t)l->function, params, 0);
    } else {
      err = launch_kernel((void *)(uintptr_t)l->function, l->grid[0],
                          l->grid[1], l->grid[2], l->block[0], l->block[1],
                          l->block[2], l->shared, stream, params, 0);
    }
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
    int64_t words = 11;
    for (int64_t a = 0; a < l->args; ++a)
      words += l->map_of[a] >= 0 ? SPA_TENSOR_MAP_WORDS : 1;
    if (capacity < 0 || words > capacity - w)
      return SPA_E_BUFFER;
    out[w++] = (int64_t)l->function;
    for (int d = 0; d < 3; ++d)
      out[w++] = l->grid[d];
    for (int d = 0; d < 3; ++d)
      out[w++] = l->block[d];
    out[w++] = l->shared;
    out[w++] = l->flags;
    out[w++] = (int64_t)(uintptr_t)stream;
    out[w++] = l->args;
    for (int64_t a = 0; a < l->args; ++a) {
      if (l->map_of[a] < 0) {
        out[w++] = (int64_t)l->values[a];
        continue;
      }
      const uint64_t *map = l->maps[l->map_of[a]];
      for (int j = 0; j < SPA_TENSOR_MAP_WORDS; ++j)
        out[w++] = (int64_t)map[j];
    }
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

/* A cuTensorMapEncodeTiled stand-in that zeroes the map and accepts it
 * (with spa_launcher_null_launch: timing plans that have tensor maps). */
EXPORT int spa_launcher_null_tensor_map_encode(
    void *tensor_map, int dtype, uint32_t rank, void *global_address,
    const uint64_t *dims, const uint64_t *strides_bytes, const uint32_t *box,
    const uint32_t *element_strides, int interleave, int swizzle,
    int l2_promotion, int oob_fill) {
  (void)dtype, (void)rank, (void)global_address, (void)dims;
  (void)strides_bytes, (void)box, (void)element_strides, (void)interleave;
  (void)swizzle, (void)l2_promotion, (void)oob_fill;
  /* volatile: a plain loop could become a call to memset (no libc). */
  volatile uint64_t *map = (volatile uint64_t *)tensor_map;
  for (int j = 0; j < SPA_TENSOR_MAP_WORDS; ++j)
    map[j] = 0;
  return 0;
}
