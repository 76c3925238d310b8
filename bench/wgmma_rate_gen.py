#!/usr/bin/env python3
"""Generates bench/wgmma_rate_probe.cu (issues #11, #14): microbenchmark
kernels that only issue wgmma products, to measure the tensor pipe's rate
for the instruction shapes spa's kernels use (m64n64k16 and m64n128k16,
A from shared memory or registers) at 1-4 warpgroups an SM, apart from
everything else a kernel does. Each kernel runs `iters` rounds of one or
two products (a fence, the k steps, commit, wait_group 0), like one tile
of a kernel's products. Operand values do not matter (shared memory is
zeroed); the descriptors are the 128-byte-swizzled K-major ones of
lib/Conversion/SpaToGPU/Wgmma.cpp.

    python3 bench/wgmma_rate_gen.py > bench/wgmma_rate_probe.cu
    nvcc -arch=sm_90a -cubin -O3 -o wgmma_rate_probe.cubin bench/wgmma_rate_probe.cu
"""

# name: list of products (n, k steps, a from registers)
KERNELS = {
    "ss_n64_k8": [(64, 8, False)],          # forward S = Q K^T (tile-k 64)
    "rs_n64_k8": [(64, 8, True)],           # the same with Q in registers
    "ss_n128_k8": [(128, 8, False)],        # S at tile-k 128 (FA3's)
    "rs_n128_k4": [(128, 4, True)],         # forward O += P V (tile-k 64)
    "rs_n128_k8": [(128, 8, True)],         # O += P V at tile-k 128
    "ss_n256_k8": [(256, 8, False)],
    # one forward tile pair's products, as the serial kernel issues them
    "fwd_k64": [(64, 8, False), (128, 4, True)],
    "fwd_k64_qreg": [(64, 8, True), (128, 4, True)],
    "fwd_k128": [(128, 8, False), (128, 8, True)],
}


def shared_needed(products):
    """Bytes of shared memory the kernel's descriptors reach."""
    return 16384 + sum(n * 128 * ((steps + 3) // 4) for n, steps, _ in products)


def product(index, n, steps, a_regs, a_words=None):
    """The asm lines of one product's k steps; `a_words(s)`: the C
    expressions of step s's four A registers (default a[0..3])."""
    acc = n // 2
    lines = []
    outs = ", ".join(f"%{i}" for i in range(acc))
    for s in range(steps):
        # operand numbering: accumulators 0..acc-1, then inputs
        if a_regs:
            a = "{%%%d, %%%d, %%%d, %%%d}" % tuple(range(acc, acc + 4))
            b = f"%{acc + 4}"
            words = a_words(s) if a_words else [f"a[{i}]" for i in range(4)]
            ins = (", ".join(f'"r"({w})' for w in words) + ", "
                   f'"l"(descB{index} + {2 * (s % 4) + (s // 4) * n * 8})')
            op = (f"wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16 "
                  f"{{{outs}}}, {a}, {b}, 1, 1, 1, 0;")
        else:
            a = f"%{acc}"
            b = f"%{acc + 1}"
            ins = (f'"l"(descA + {2 * (s % 4) + (s // 4) * 64 * 8}), '
                   f'"l"(descB{index} + {2 * (s % 4) + (s // 4) * n * 8})')
            op = (f"wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16 "
                  f"{{{outs}}}, {a}, {b}, 1, 1, 1, 0, 0;")
        outs_c = ", ".join(f'"+f"(d{index}[{i}])' for i in range(acc))
        lines.append(f'    asm volatile("{op}" : {outs_c} : {ins});')
    return lines


def prologue(name, products, params="float *out, int iters"):
    """The kernel's head: shared memory zeroed, Q's descriptor (descA) and
    one B descriptor and accumulator (descB<i>, d<i>) a product; the
    product's operands follow one another from byte 16384 on."""
    body = [f'extern "C" __global__ void __launch_bounds__(128) '
            f'{name}({params}) {{',
            "  extern __shared__ __align__(1024) unsigned char smem[];",
            "  unsigned base = (unsigned)__cvta_generic_to_shared(smem);",
            "  for (int i = threadIdx.x; i < SMEM_ZEROED / 4; i += 128)",
            "    ((unsigned *)smem)[i] = 0;",
            "  __syncthreads();",
            "  const unsigned long long fixed = (1ull << 62) | "
            "((unsigned long long)(1024 >> 4) << 32);",
            "  unsigned long long descA = ((base >> 4) & 0x3FFF) | fixed |"
            " ((unsigned long long)(64 * 128 >> 4) << 16);"]
    offset = 16384
    for index, (n, steps, _) in enumerate(products):
        body.append(f"  unsigned long long descB{index} = "
                    f"(((base + {offset}) >> 4) & 0x3FFF) | fixed | "
                    f"((unsigned long long)({n} * 128 >> 4) << 16);")
        body.append(f"  float d{index}[{n // 2}];")
        body.append(f"  for (int i = 0; i < {n // 2}; ++i) d{index}[i] = 0.f;")
        offset += n * 128 * ((steps + 3) // 4)
    return body


def epilogue(products, seed):
    """The round loop's end and the stores that keep every accumulator
    (and `seed`) live."""
    lines = ["  }", f"  float sum = {seed};"]
    for index, (n, _, _) in enumerate(products):
        lines.append(f"  for (int i = 0; i < {n // 2}; ++i) sum += d{index}[i];")
    return lines + ["  out[blockIdx.x * 128 + threadIdx.x] = sum;", "}"]


FENCE = '    asm volatile("wgmma.fence.sync.aligned;" ::: "memory");'
COMMIT_WAIT = [
    '    asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");',
    '    asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory");']


def words_of(array):
    """product()'s a_words for A registers in `array` (four a k step)."""
    return lambda step: [f"{array}[{4 * step + i}]" for i in range(4)]


def moved(lines, index, offset):
    """Product `index`'s asm lines with its B descriptor moved by `offset`
    (a C expression, in the descriptor's 16-byte units)."""
    return [line.replace(f"descB{index} + ", f"descB{index} + {offset} + ")
            for line in lines]


def kernel(name, products):
    body = prologue(name, products)
    body.append("  unsigned a[4] = {threadIdx.x, 0u, 0u, 0u};")
    body.append("  for (int it = 0; it < iters; ++it) {")
    for index, (n, steps, a_regs) in enumerate(products):
        body.append(FENCE)
        body.extend(product(index, n, steps, a_regs))
        body += COMMIT_WAIT
    return "\n".join(body + epilogue(products, "0.f"))


# Kernels with the elementwise phase between the products (no loads, no
# barriers): the serial forward's tile (S, online softmax, O rescaled, P
# packed to bf16 as P V's A operand) and the dK/dV kernel's (S^T and dP^T,
# P^T = exp2(S^T - lse), dS^T = P^T (dP^T - Delta), both packed as the A
# operands of dV += P^T dO and dK += dS^T Q).
ELEMENTWISE = {
    "fwd_k64_softmax": [(64, 8, False), (128, 4, True)],
    "dkdv_k64_elementwise": [(64, 8, False), (64, 8, False), (128, 4, True),
                             (128, 4, True)],
}

PACK = """__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
  unsigned r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
"""


def fragment_words(acc, words):
    """P's A words from accumulator `acc` (m64n64, 32 values a lane) into
    array `words` (16): step s takes column blocks 2s and 2s + 1."""
    lines = []
    for s in range(4):
        for w, (i, j) in enumerate([(0, 1), (2, 3), (4, 5), (6, 7)]):
            lines.append(f"    {words}[{4 * s + w}] = pack_bf16("
                         f"{acc}[{8 * s + i}], {acc}[{8 * s + j}]);")
    return lines


FWD_SOFTMAX = [
            "    float x0 = -1e30f, x1 = -1e30f;",
            "    for (int j = 0; j < 8; ++j) {",
            "      x0 = fmaxf(x0, fmaxf(d0[4 * j], d0[4 * j + 1]));",
            "      x1 = fmaxf(x1, fmaxf(d0[4 * j + 2], d0[4 * j + 3]));",
            "    }",
            "    x0 = fmaxf(x0, __shfl_xor_sync(~0u, x0, 1));",
            "    x0 = fmaxf(x0, __shfl_xor_sync(~0u, x0, 2));",
            "    x1 = fmaxf(x1, __shfl_xor_sync(~0u, x1, 1));",
            "    x1 = fmaxf(x1, __shfl_xor_sync(~0u, x1, 2));",
            "    float n0 = fmaxf(m0, x0 * scale), n1 = fmaxf(m1, x1 * scale);",
            "    c0 = exp2f(m0 - n0); c1 = exp2f(m1 - n1);",
            "    m0 = n0; m1 = n1;",
            "    float s0 = 0.f, s1 = 0.f;",
            "    for (int j = 0; j < 8; ++j) {",
            "      d0[4 * j] = exp2f(fmaf(d0[4 * j], scale, -n0));",
            "      d0[4 * j + 1] = exp2f(fmaf(d0[4 * j + 1], scale, -n0));",
            "      d0[4 * j + 2] = exp2f(fmaf(d0[4 * j + 2], scale, -n1));",
            "      d0[4 * j + 3] = exp2f(fmaf(d0[4 * j + 3], scale, -n1));",
            "      s0 += d0[4 * j] + d0[4 * j + 1];",
            "      s1 += d0[4 * j + 2] + d0[4 * j + 3];",
            "    }",
            "    l0 = l0 * c0 + s0; l1 = l1 * c1 + s1;"]
FWD_RESCALE = [
            "    for (int j = 0; j < 16; ++j) {",
            "      d1[4 * j] *= c0; d1[4 * j + 1] *= c0;",
            "      d1[4 * j + 2] *= c1; d1[4 * j + 3] *= c1;",
            "    }"]


# The dK/dV tile's elementwise phase: P^T = exp2(S^T - lse) (d0) and dS^T
# = P^T (dP^T - Delta) (d1), two rows' statistics a lane.
DKDV_ELEMENTWISE = [
    "    for (int j = 0; j < 8; ++j) {",
    "      for (int h = 0; h < 4; ++h) {",
    "        float lse = h < 2 ? lse0 : lse1;",
    "        float delta = h < 2 ? delta0 : delta1;",
    "        float pv = exp2f(fmaf(d0[4 * j + h], scale, -lse));",
    "        d1[4 * j + h] = pv * (d1[4 * j + h] - delta);",
    "        d0[4 * j + h] = pv;",
    "      }",
    "    }"]


# The ELEMENTWISE kernels' per-lane state across rounds (both chains'), and
# the dK/dV data-path kernels' (m0, m1 unused there).
ELEMENTWISE_STATE = [
    "  unsigned a[4] = {0u, 0u, 0u, 0u};",
    "  unsigned p[16], ds[16];",
    "  float m0 = -1e30f, m1 = -1e30f, l0 = 0.f, l1 = 0.f;",
    "  const float scale = 0.12752f, lse0 = 1.f, lse1 = 2.f;",
    "  const float delta0 = 0.5f, delta1 = 0.25f;"]


def elementwise_kernel(name, products):
    body = prologue(name, products)
    body += ELEMENTWISE_STATE + ["  for (int it = 0; it < iters; ++it) {"]

    def issue(index, words=None):
        n, steps, a_regs = products[index]
        body.append(FENCE)
        body.extend(product(index, n, steps, a_regs,
                            words_of(words) if words else None))

    def commit_wait():
        body.extend(COMMIT_WAIT)

    if name.startswith("fwd"):
        body[-1:-1] = ["  float c0 = 1.f, c1 = 1.f;"]
        issue(0)
        commit_wait()
        body += FWD_SOFTMAX + FWD_RESCALE
        body += fragment_words("d0", "p")
        issue(1, "p")
        commit_wait()
        body.append("    for (int i = 0; i < 32; ++i) d0[i] = 0.f;")
    else:
        issue(0)
        issue(1)
        commit_wait()
        body += DKDV_ELEMENTWISE
        body += fragment_words("d0", "p")
        body += fragment_words("d1", "ds")
        issue(2, "p")
        issue(3, "ds")
        commit_wait()
        body.append("    for (int i = 0; i < 32; ++i) { d0[i] = 0.f; d1[i] = 0.f; }")
    return "\n".join(body + epilogue(products, "l0 + l1 + a[0]"))


# The forward tile's chain with its data path (issue #14): K and V tiles
# (16 KiB each) copied from global memory by one thread's bulk copies into
# `stages` buffers completing on mbarriers, a block barrier before each
# refill, as the serial kernel does (stages 1: K refilled after Q K^T, V
# after P V; stages 2: a ring, both refilled after P V). Copies off: the
# same barriers, nothing copied. Sources cycle over `tiles` 32 KiB tiles
# of `src` (small: L2-resident; large: DRAM).
DATAPATH = {
    "fwd_path_s1_barriers": (1, False),
    "fwd_path_s1_copies": (1, True),
    "fwd_path_s2_copies": (2, True),
}

MBARRIER = """__device__ __forceinline__ void mbar_init(unsigned bar) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" :: "r"(bar));
}
__device__ __forceinline__ void mbar_copy(unsigned bar, unsigned dst,
                                          const void *src, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;"
               :: "r"(bar), "r"(bytes) : "memory");
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx"
               "::bytes [%0], [%1], %2, [%3];"
               :: "r"(dst), "l"(src), "r"(bytes), "r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(unsigned bar, unsigned parity) {
  asm volatile("{\\n .reg .pred p;\\n WAIT_%=:\\n"
               " mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\\n"
               " @!p bra WAIT_%=;\\n}" :: "r"(bar), "r"(parity) : "memory");
}
"""


# The forward chains' per-lane state across rounds (every data-path form).
FWD_STATE = [
    "  unsigned a[4] = {0u, 0u, 0u, 0u};",
    "  unsigned p[16];",
    "  float m0 = -1e30f, m1 = -1e30f, l0 = 0.f, l1 = 0.f;",
    "  const float scale = 0.12752f;",
    "  float c0 = 1.f, c1 = 1.f;"]


def barriers(address, count):
    """`bars` at `address` (a C expression): `count` mbarriers of one
    arrival each, initialised by thread 0 before the block goes on."""
    return [f"  const unsigned bars = {address};",
            "  if (threadIdx.x == 0) {",
            f"    for (int i = 0; i < {count}; ++i) mbar_init(bars + 8 * i);",
            '    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");',
            "  }",
            "  __syncthreads();"]


def datapath_kernel(name, stages, copies):
    fwd = ELEMENTWISE["fwd_k64_softmax"]
    body = prologue(name, fwd, "float *out, int iters, const char *src, "
                    "int tiles")
    # K of stage s at 16384 + s * 32768, V 16 KiB after it (descB0 and
    # descB1 point at stage 0's); the barriers past the last stage.
    body += [
        *FWD_STATE,
        *barriers(f"base + 16384 + {stages} * 32768", 2 * stages),
        "  auto tile_src = [&](int t) {",
        "    return src + (size_t)((blockIdx.x * 131 + t) % tiles) * 32768; };",
        "  auto issue_k = [&](int t, int s) {",
        f"    if ({int(copies)} && threadIdx.x == 0 && t < iters)",
        "      mbar_copy(bars + 16 * s, base + 16384 + s * 32768, tile_src(t), 16384); };",
        "  auto issue_v = [&](int t, int s) {",
        f"    if ({int(copies)} && threadIdx.x == 0 && t < iters)",
        "      mbar_copy(bars + 16 * s + 8, base + 16384 + s * 32768 + 16384,",
        "                tile_src(t) + 16384, 16384); };",
        f"  for (int t = 0; t < {stages}; ++t) {{ issue_k(t, t); issue_v(t, t); }}",
        "  for (int it = 0; it < iters; ++it) {",
        f"    const int s = it % {stages};",
        f"    const unsigned parity = (it / {stages}) & 1;"]
    if copies:
        body.append("    mbar_wait(bars + 16 * s, parity);")
    body.append(FENCE)
    body += moved(product(0, 64, 8, False), 0, "(s * 32768 >> 4)")
    body += COMMIT_WAIT
    if stages == 1:  # every warp is done with K(it): it takes K(it + 1)
        body += ["    __syncthreads();", "    issue_k(it + 1, 0);"]
    body += FWD_SOFTMAX + FWD_RESCALE + fragment_words("d0", "p")
    if copies:
        body.append("    mbar_wait(bars + 16 * s + 8, parity);")
    body.append(FENCE)
    body += moved(product(1, 128, 4, True, words_of("p")), 1,
                  "(s * 32768 >> 4)")
    body += COMMIT_WAIT
    # Every warp is done with V(it): it takes V(it + 1), or the whole
    # stage its tile `stages` ahead.
    body += ["    __syncthreads();",
             "    issue_v(it + 1, 0);" if stages == 1 else
             f"    issue_k(it + {stages}, s); issue_v(it + {stages}, s);",
             "    for (int i = 0; i < 32; ++i) d0[i] = 0.f;"]
    return "\n".join(body + epilogue(fwd, "l0 + l1 + a[0]"))


# The forward chain in work items of ITEM_TILES tiles, as the serial kernel
# runs them: a work-list entry read, Q and the first K and V copied at the
# item's start, and an epilogue that stores the item's O (bf16, 16 KiB) to
# global memory. `serial`: nothing of item i + 1 moves before item i ends
# (today's kernel); `persistent`: the next entry is read at the item's
# start, and Q, K and V of item i + 1 are copied as soon as their buffers
# are free (after the last Q K^T and P V of item i: forward-plan step 3).
ITEM_TILES = 10
ITEMS = {"fwd_items_serial": False, "fwd_items_persistent": True}


def item_kernel(name, persistent):
    fwd = ELEMENTWISE["fwd_k64_softmax"]
    body = prologue(name, fwd, "float *out, int iters, const char *src, "
                    "int tiles, const int *work, unsigned *dst")
    body += [
        *FWD_STATE,
        *barriers("base + 49152", 3),  # K, V, Q
        f"  const int items = iters / {ITEM_TILES};",
        "  auto entry = [&](int item) {",
        "    return work[(blockIdx.x * 131 + item) % 4096]; };",
        "  auto tile = [&](int w, int r) {",
        "    return src + (size_t)((w + r) % tiles) * 32768; };",
        "  auto issue_q = [&](int w) { if (threadIdx.x == 0)",
        "    mbar_copy(bars + 16, base, tile(w, 7), 16384); };",
        "  auto issue_k = [&](int w, int r) { if (threadIdx.x == 0)",
        "    mbar_copy(bars, base + 16384, tile(w, r), 16384); };",
        "  auto issue_v = [&](int w, int r) { if (threadIdx.x == 0)",
        "    mbar_copy(bars + 8, base + 32768, tile(w, r) + 16384, 16384); };",
        "  int w = entry(0);",
        "  issue_q(w); issue_k(w, 0); issue_v(w, 0);",
        "  for (int item = 0; item < items; ++item) {",
    ]
    if persistent:
        body.append("    const int next = entry(item + 1);")
    else:
        body += ["    if (item > 0) {",
                 "      w = entry(item);",
                 "      issue_q(w); issue_k(w, 0); issue_v(w, 0);",
                 "    }"]
    body += ["    mbar_wait(bars + 16, item & 1);",
             f"    for (int r = 0; r < {ITEM_TILES}; ++r) {{",
             f"      const unsigned parity = (item * {ITEM_TILES} + r) & 1;",
             "      mbar_wait(bars, parity);"]
    body.extend("  " + line for line in
                [FENCE, *product(0, 64, 8, False), *COMMIT_WAIT])
    body += ["      __syncthreads();",
             f"      if (r + 1 < {ITEM_TILES}) issue_k(w, r + 1);"]
    if persistent:
        body += ["      else if (item + 1 < items) { issue_q(next); issue_k(next, 0); }"]
    body.extend("  " + line for line in FWD_SOFTMAX + FWD_RESCALE)
    body.extend("  " + line for line in fragment_words("d0", "p"))
    body.append("      mbar_wait(bars + 8, parity);")
    body.extend("  " + line for line in
                [FENCE, *product(1, 128, 4, True, words_of("p")),
                 *COMMIT_WAIT])
    body += ["      __syncthreads();",
             f"      if (r + 1 < {ITEM_TILES}) issue_v(w, r + 1);"]
    if persistent:
        body += ["      else if (item + 1 < items) issue_v(next, 0);"]
    body += ["      for (int i = 0; i < 32; ++i) d0[i] = 0.f;",
             "    }",
             # the epilogue: O / l to bf16, 16 KiB an item to global memory
             "    const float i0 = 1.f / l0, i1 = 1.f / l1;",
             "    unsigned *o = dst + ((size_t)((blockIdx.x * 977 + item) % 16384)"
             " * 4096) + threadIdx.x * 4;",
             "    for (int j = 0; j < 8; ++j) {",
             "      uint4 v = make_uint4(",
             "          pack_bf16(d1[8 * j] * i0, d1[8 * j + 1] * i0),",
             "          pack_bf16(d1[8 * j + 2] * i1, d1[8 * j + 3] * i1),",
             "          pack_bf16(d1[8 * j + 4] * i0, d1[8 * j + 5] * i0),",
             "          pack_bf16(d1[8 * j + 6] * i1, d1[8 * j + 7] * i1));",
             "      *(uint4 *)(o + j * 512) = v;",
             "    }",
             "    for (int i = 0; i < 64; ++i) d1[i] = 0.f;",
             "    m0 = m1 = -1e30f; l0 = l1 = 0.f;"]
    if persistent:
        body.append("    w = next;")
    body += ["  }"]
    body += epilogue(fwd, "l0 + l1 + a[0]")[1:]
    return "\n".join(body)


# The forward chain with K and V in one ring of `slots` 16 KiB half-tile
# slots (K0, V0, K1, V1, ... in turn): a slot is refilled with the half
# `slots` places later as soon as its product is done, so at three slots
# the block holds Q and 48 KiB of K and V (three blocks an SM) and each
# copy is issued about a tile ahead.
HALF_RINGS = {"fwd_path_ring3": 3, "fwd_path_ring4": 4}


def half_ring_kernel(name, slots):
    fwd = ELEMENTWISE["fwd_k64_softmax"]
    body = prologue(name, fwd, "float *out, int iters, const char *src, "
                    "int tiles")
    body += [
        *FWD_STATE,
        *barriers(f"base + 16384 + {slots} * 16384", slots),
        "  // half h: K of tile h / 2 (h even) or its V (h odd), in slot h % slots",
        "  auto issue = [&](int h) {",
        "    if (threadIdx.x == 0 && h < 2 * iters)",
        "      mbar_copy(bars + 8 * (h % " + str(slots) + "), base + 16384 + (h % "
        + str(slots) + ") * 16384,",
        "                src + (size_t)((blockIdx.x * 131 + h / 2) % tiles) * 32768"
        " + (h & 1) * 16384, 16384); };",
        f"  for (int h = 0; h < {slots}; ++h) issue(h);",
        "  for (int it = 0; it < iters; ++it) {",
        "    const int hk = 2 * it, hv = 2 * it + 1;",
        f"    const unsigned sk = hk % {slots}, sv = hv % {slots};",
        f"    mbar_wait(bars + 8 * sk, (hk / {slots}) & 1);",
        FENCE]
    # K in slot sk: descB0 points at slot 0 (base + 16384)
    body += moved(product(0, 64, 8, False), 0, "(sk * 16384 >> 4)")
    body += COMMIT_WAIT
    body += ["    __syncthreads();",
             f"    issue(hk + {slots});"]
    body += FWD_SOFTMAX + FWD_RESCALE
    body += fragment_words("d0", "p")
    body.append(f"    mbar_wait(bars + 8 * sv, (hv / {slots}) & 1);")
    body.append(FENCE)
    # V in slot sv: descB1 points at base + 32768 = slot 1
    body += moved(product(1, 128, 4, True, words_of("p")), 1,
                  "(long long)((int)sv - 1) * 1024")
    body += COMMIT_WAIT
    body += ["    __syncthreads();",
             f"    issue(hv + {slots});",
             "    for (int i = 0; i < 32; ++i) d0[i] = 0.f;"]
    return "\n".join(body + epilogue(fwd, "l0 + l1 + a[0]"))


# The dK/dV tile's chain with its data path (issue #11): Q and dO tiles of
# each round copied from global memory into a two-stage ring (32 KiB a
# stage, refilled behind a block barrier after the round's products), and
# with `store`, dS^T staged in shared memory (two 8 KiB tiles) and stored
# by one thread's bulk copy, waiting only for the copy before last, as the
# stored-dS kernel does. 98 KiB a block: two blocks an SM.
DKDV_PATHS = {"dkdv_path_copies": False, "dkdv_path_store": True}

BULK_STORE = """__device__ __forceinline__ void bulk_store(void *dst, unsigned src,
                                           unsigned bytes) {
  asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;"
               :: "l"(dst), "r"(src), "r"(bytes) : "memory");
  asm volatile("cp.async.bulk.commit_group;" ::: "memory");
  asm volatile("cp.async.bulk.wait_group.read 1;" ::: "memory");
}
"""


def dkdv_path_kernel(name, store):
    products = ELEMENTWISE["dkdv_k64_elementwise"]
    body = prologue(name, products, "float *out, int iters, const char *src, "
                    "int tiles, unsigned *dst")
    body += [
        *ELEMENTWISE_STATE,
        "  const unsigned staging = base + 16384 + 2 * 32768;  // 2 x 8 KiB",
        *barriers("staging + 16384", 2),
        "  auto issue = [&](int t, int s) {",
        "    if (threadIdx.x == 0 && t < iters)",
        "      mbar_copy(bars + 8 * s, base + 16384 + s * 32768,",
        "                src + (size_t)((blockIdx.x * 131 + t) % tiles) * 32768,"
        " 32768); };",
        "  issue(0, 0); issue(1, 1);",
        "  for (int it = 0; it < iters; ++it) {",
        "    const int s = it % 2;",
        "    mbar_wait(bars + 8 * s, (it / 2) & 1);",
        FENCE]
    # stage s: Q at 16384 + s * 32768, dO 16 KiB after it; the prologue put
    # descB0..3 at 16384, 32768, 49152 and 65536 (16-byte units below).
    stage = {0: "(s * 2048)", 1: "(s * 2048)", 2: "(s * 2048) - 1024",
             3: "(s * 2048) - 3072"}

    body += moved(product(0, 64, 8, False), 0, stage[0])
    body += moved(product(1, 64, 8, False), 1, stage[1])
    body += COMMIT_WAIT
    body += DKDV_ELEMENTWISE
    body += fragment_words("d0", "p")
    body += fragment_words("d1", "ds")
    if store:
        body += ["    {",
                 "      uint4 *at = (uint4 *)(smem + 16384 + 2 * 32768 +"
                 " s * 8192) + threadIdx.x * 4;",
                 "      for (int q = 0; q < 4; ++q)",
                 "        at[q] = make_uint4(ds[4 * q], ds[4 * q + 1],"
                 " ds[4 * q + 2], ds[4 * q + 3]);",
                 "    }"]
    body.append(FENCE)
    for index, words in ((2, "p"), (3, "ds")):
        body += moved(product(index, 128, 4, True, words_of(words)),
                      index, stage[index])
    body += COMMIT_WAIT
    if store:
        body.append('    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");')
    body.append("    __syncthreads();")
    if store:
        body += ["    if (threadIdx.x == 0)",
                 "      bulk_store(dst + (size_t)((blockIdx.x * 977 + it) % 32768)"
                 " * 2048, staging + s * 8192, 8192);"]
    body += ["    issue(it + 2, s);",
             "    for (int i = 0; i < 32; ++i) { d0[i] = 0.f; d1[i] = 0.f; }"]
    return "\n".join(body + epilogue(products, "l0 + l1 + a[0]"))


def main():
    print("// Generated by bench/wgmma_rate_gen.py; do not edit.")
    print("#define SMEM_ZEROED 49152")
    needs = {}
    for name, products in KERNELS.items():
        text = kernel(name, products)
        needs[name] = shared_needed(products)
        print(text)
        print()
    print(PACK)
    for name, products in ELEMENTWISE.items():
        needs[name] = shared_needed(products)
        print(elementwise_kernel(name, products))
        print()
    print(MBARRIER)
    for name, (stages, copies) in DATAPATH.items():
        print(datapath_kernel(name, stages, copies))
        print()
    for name, persistent in ITEMS.items():
        print(item_kernel(name, persistent))
        print()
    for name, slots in HALF_RINGS.items():
        print(half_ring_kernel(name, slots))
        print()
    print(BULK_STORE)
    for name, store in DKDV_PATHS.items():
        print(dkdv_path_kernel(name, store))
        print()
    print("// shared bytes each kernel's descriptors reach:")
    for name, used in needs.items():
        print(f"// {name} {used}")


if __name__ == "__main__":
    main()
