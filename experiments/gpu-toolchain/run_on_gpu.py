#!/usr/bin/env python3
"""Launch the MLIR-built cubins (no MLIR needed here) and check + time them.

Loads kernel*.cubin with the CUDA driver API through cuda-python
(`cuda.bindings.driver`), packs kernel arguments by hand in the ABI that
MLIR's convert-gpu-to-nvvm gave the kernel, launches with cuLaunchKernel,
compares against float64 references, and times with CUDA events (median).

Suites (comma-separated, --suites):
  main     torch tensors: axpy, exp2_scale, matmul at several sizes (fresh
           random inputs, NaN-poisoned outputs), timings of matmul next to
           torch.matmul (bf16), descriptor ABI (kernel.cubin)
  bare     same checks through the bare-pointer ABI build (kernel_bare.cubin)
  cupy     the same cubin through cupy.RawModule (second loader), torch inputs
  pure     no torch: numpy host data + cuMemAlloc/cuMemcpy; small sizes of
           every kernel incl. the shared-memory alias probes.  Used under
           compute-sanitizer.
  sm90kn   no torch: TMA + mbarrier + wgmma (kernel_sm90.cubin @wgmma_kn,
           nvgpu.warpgroup.mma {transposeB}), C = A @ B, B[K,N]; tensor maps
           from cuTensorMapEncodeTiled, 72 KiB dynamic smem.
  sm90nk   same with @wgmma_nk (nvvm.wgmma.mma_async, K-major B), C = A @ Bt^T.
           Run each sm90 suite in its own process: a kernel fault kills the
           context.

Kernel ABI (descriptor convention, MLIR default): each memref<?xT> argument
is 5 parameters (allocated ptr, aligned ptr, i64 offset, i64 size, i64
stride); index -> i64; f32 -> f32.  Bare-pointer convention: one pointer per
memref.  memref<64x64xf32> (sm90) is (ptr, ptr, off, 64, 64, 64, 1).
The packed layout is checked against cuFuncGetParamInfo before launching.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

import numpy as np

try:
    from cuda.bindings import driver as cu
except ImportError:  # cuda-python < 12.6 layout
    from cuda import cuda as cu  # type: ignore

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = {"checks": [], "timings": [], "info": {}}
PARAM_PROBE = True
FAILED = []


# --------------------------------------------------------------------------
# driver helpers
# --------------------------------------------------------------------------
def check(ret, what=""):
    """cuda-python returns (err, *values); raise on error, return values."""
    if not isinstance(ret, tuple):
        ret = (ret,)
    err, vals = ret[0], ret[1:]
    if int(err) != 0:
        _, name = cu.cuGetErrorName(err)
        raise RuntimeError(f"{what}: {name.decode() if name else err}")
    if len(vals) == 0:
        return None
    return vals[0] if len(vals) == 1 else vals


def init_driver():
    check(cu.cuInit(0), "cuInit")
    dev = check(cu.cuDeviceGet(0), "cuDeviceGet")
    ctx = check(cu.cuDevicePrimaryCtxRetain(dev), "cuDevicePrimaryCtxRetain")
    check(cu.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
    name = check(cu.cuDeviceGetName(256, dev), "cuDeviceGetName")
    name = name.split(b"\0")[0].decode()
    A = cu.CUdevice_attribute
    cc = (check(cu.cuDeviceGetAttribute(A.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev)),
          check(cu.cuDeviceGetAttribute(A.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev)))
    drv = check(cu.cuDriverGetVersion(), "cuDriverGetVersion")
    RESULTS["info"].update(device=name, cc=f"{cc[0]}.{cc[1]}", driver_api=drv)
    print(f"device: {name}, cc {cc[0]}.{cc[1]}, driver API {drv}")
    return dev


class Module:
    def __init__(self, path):
        data = open(path, "rb").read()
        if path.endswith(".ptx"):
            data += b"\0"  # PTX text is loaded NUL-terminated (driver JIT)
        self._img = np.frombuffer(data, dtype=np.uint8).copy()
        self.mod = check(cu.cuModuleLoadData(self._img.ctypes.data), f"cuModuleLoadData({path})")
        self.path = path

    def function(self, name):
        return Kernel(check(cu.cuModuleGetFunction(self.mod, name.encode()),
                            f"cuModuleGetFunction({name})"), name)


class Kernel:
    def __init__(self, fn, name):
        self.fn, self.name = fn, name
        FA = cu.CUfunction_attribute
        self.attrs = {k: check(cu.cuFuncGetAttribute(getattr(FA, "CU_FUNC_ATTRIBUTE_" + k), fn))
                      for k in ("NUM_REGS", "SHARED_SIZE_BYTES", "MAX_THREADS_PER_BLOCK",
                                "LOCAL_SIZE_BYTES", "BINARY_VERSION")}
        self.params = self._param_info()

    def _param_info(self):
        """[(offset, size)] of the cubin's parameters, or None if unavailable.

        cuFuncGetParamCount is in cuda-bindings 13 but not in the 580 driver
        (CUDA 13.0) of the device machine: it raises "Function not found".
        Then probe cuFuncGetParamInfo until it fails (that last call is an API
        error that compute-sanitizer reports, so --no-param-probe turns the
        probing off under the sanitizer)."""
        if not hasattr(cu, "cuFuncGetParamInfo"):
            return None
        n = None
        try:
            r = cu.cuFuncGetParamCount(self.fn)
            if int(r[0]) == 0:
                n = int(r[1])
        except Exception:  # noqa: BLE001 - missing in the driver
            n = None
        if n is None and not PARAM_PROBE:
            return None
        out = []
        try:
            for i in range(n if n is not None else 256):
                r = cu.cuFuncGetParamInfo(self.fn, i)
                if int(r[0]) != 0:
                    break
                out.append((int(r[1]), int(r[2])))
        except Exception:  # noqa: BLE001
            return None
        return out

    def set_max_dynamic_smem(self, nbytes):
        FA = cu.CUfunction_attribute
        check(cu.cuFuncSetAttribute(self.fn, FA.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                    nbytes), "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)")

    def launch(self, grid, block, args, smem=0, stream=0):
        """args: list of ctypes scalars (c_void_p / c_int64 / c_float ...)."""
        if self.params is not None:
            sizes = [ctypes.sizeof(a) for a in args]
            got = [s for _, s in self.params]
            if sizes != got:
                raise RuntimeError(f"{self.name}: packed {len(sizes)} params {sizes}, "
                                   f"cubin expects {len(got)} {got}")
        ptrs = (ctypes.c_void_p * len(args))(*[ctypes.addressof(a) for a in args])
        grid = tuple(grid) + (1,) * (3 - len(grid))
        block = tuple(block) + (1,) * (3 - len(block))
        check(cu.cuLaunchKernel(self.fn, *grid, *block, smem, stream,
                                ctypes.addressof(ptrs), 0), f"cuLaunchKernel({self.name})")
        self._keep = (args, ptrs)


def memref_args(ptr, n, abi):
    """One 1-D memref<?xT> argument in the given kernel ABI."""
    if abi == "bare":
        return [ctypes.c_void_p(ptr)]
    return [ctypes.c_void_p(ptr), ctypes.c_void_p(ptr), ctypes.c_int64(0),
            ctypes.c_int64(n), ctypes.c_int64(1)]


def idx(v):
    return ctypes.c_int64(v)


def sync():
    check(cu.cuCtxSynchronize(), "cuCtxSynchronize (kernel fault?)")


def time_launches(launch, reps=30, warmup=5):
    """Median of per-launch CUDA event times (driver events on stream 0)."""
    for _ in range(warmup):
        launch()
    sync()
    evs = [(check(cu.cuEventCreate(0)), check(cu.cuEventCreate(0))) for _ in range(reps)]
    for s, e in evs:
        check(cu.cuEventRecord(s, 0))
        launch()
        check(cu.cuEventRecord(e, 0))
    sync()
    ts = [check(cu.cuEventElapsedTime(s, e)) for s, e in evs]
    for s, e in evs:
        cu.cuEventDestroy(s)
        cu.cuEventDestroy(e)
    return statistics.median(ts), min(ts), max(ts)


def record(name, ok, **kw):
    kw.update(name=name, ok=bool(ok))
    RESULTS["checks"].append(kw)
    extra = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in kw.items() if k not in ("name", "ok"))
    print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {extra}")
    if not ok:
        FAILED.append(name)


def rel_fro(out, ref):
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        return float("nan")
    return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-300))


# --------------------------------------------------------------------------
# bf16 on numpy (round to nearest even), no ml_dtypes needed
# --------------------------------------------------------------------------
def f32_to_bf16_bits(x):
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((u + (((u >> 16) & 1) + 0x7FFF)) >> 16).astype(np.uint16)


def bf16_bits_to_f64(b):
    return (b.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


class DevBuf:
    """cuMemAlloc'd buffer with numpy transfer helpers (torch-free path)."""

    def __init__(self, nbytes):
        self.nbytes = nbytes
        self.ptr = int(check(cu.cuMemAlloc(nbytes), "cuMemAlloc"))

    def put(self, arr):
        arr = np.ascontiguousarray(arr)
        assert arr.nbytes == self.nbytes
        check(cu.cuMemcpyHtoD(self.ptr, arr.ctypes.data, arr.nbytes), "cuMemcpyHtoD")

    def get(self, dtype, shape):
        out = np.empty(shape, dtype=dtype)
        assert out.nbytes == self.nbytes
        check(cu.cuMemcpyDtoH(out.ctypes.data, self.ptr, out.nbytes), "cuMemcpyDtoH")
        return out

    def free(self):
        cu.cuMemFree(self.ptr)


# --------------------------------------------------------------------------
# torch suites
# --------------------------------------------------------------------------
MATMUL_CHECK_SIZES = [(64, 64, 32), (128, 256, 96), (192, 64, 512), (1024, 512, 2048),
                      (4096, 4096, 4096)]
MATMUL_TIME_SIZES = [(4096, 4096, 4096), (8192, 8192, 8192)]
TOL_MATMUL = 1e-4   # rel. Frobenius error vs float64 (bf16 inputs exact, f32 accumulate)
TOL_AXPY = 1e-6
TOL_EXP2 = 2e-6     # max elementwise rel. error (ex2.approx.f32: ~2 ulp)


def suite_torch(cubin, abi, label, loader="driver", do_time=True):
    import torch
    torch.cuda.init()
    dev = torch.device("cuda")
    g = torch.Generator(device=dev)
    g.manual_seed({"main": 1, "bare": 2, "cupy": 3}.get(label, 4))
    print(f"== suite {label}: {os.path.basename(cubin)} ABI={abi} loader={loader}")

    if loader == "driver":
        mod = Module(cubin)
        k_axpy, k_exp2, k_mm = (mod.function(n) for n in ("axpy", "exp2_scale", "matmul"))
        for k in (k_axpy, k_exp2, k_mm):
            print(f"  {k.name}: attrs {k.attrs} params(offset,size) {k.params}")
            RESULTS["info"][f"{label}.{k.name}"] = {"attrs": k.attrs, "params": k.params}

        def L(k, grid, block, args, smem=0):
            k.launch(grid, block, args, smem)
    else:  # cupy.RawModule, same cubin; args as numpy scalars
        import cupy as cp
        cmod = cp.RawModule(path=cubin)
        k_axpy, k_exp2, k_mm = (cmod.get_function(n) for n in ("axpy", "exp2_scale", "matmul"))

        def to_np(a):
            if isinstance(a, ctypes.c_void_p):
                return np.uint64(a.value or 0)
            if isinstance(a, ctypes.c_int64):
                return np.int64(a.value)
            if isinstance(a, ctypes.c_float):
                return np.float32(a.value)
            raise TypeError(a)

        def L(k, grid, block, args, smem=0):
            k(tuple(grid), tuple(block), tuple(to_np(a) for a in args), shared_mem=smem)

    # ---- axpy / exp2 (n not a multiple of the block: tail guard)
    for n in (1000, 1 << 24):
        x = torch.randn(n, device=dev, generator=g)
        y = torch.randn(n, device=dev, generator=g)
        out = torch.full((n,), float("nan"), device=dev)
        alpha = 0.75
        args = (memref_args(x.data_ptr(), n, abi) + memref_args(y.data_ptr(), n, abi)
                + memref_args(out.data_ptr(), n, abi) + [ctypes.c_float(alpha), idx(n)])
        L(k_axpy, ((n + 255) // 256,), (256,), args)
        torch.cuda.synchronize()
        ref = alpha * x.double() + y.double()
        err = float((out.double() - ref).norm() / ref.norm())
        record(f"{label}.axpy n={n}", not out.isnan().any().item() and err <= TOL_AXPY,
               rel_err=err, tol=TOL_AXPY)
        if do_time and n == 1 << 24 and loader == "driver":
            med, lo, hi = time_launches(lambda: L(k_axpy, ((n + 255) // 256,), (256,), args))
            gbs = 3 * 4 * n / med / 1e6
            RESULTS["timings"].append(dict(name=f"{label}.axpy", n=n, ms=med, min_ms=lo, GBps=gbs))
            print(f"  time axpy n={n}: median {med:.4f} ms (min {lo:.4f}) = {gbs:.0f} GB/s")

        xs = torch.rand(n, device=dev, generator=g) * 20 - 10
        out2 = torch.full((n,), float("nan"), device=dev)
        a2 = 1.5
        args2 = (memref_args(xs.data_ptr(), n, abi) + memref_args(out2.data_ptr(), n, abi)
                 + [ctypes.c_float(a2), idx(n)])
        L(k_exp2, ((n + 255) // 256,), (256,), args2)
        torch.cuda.synchronize()
        arg32 = (torch.tensor(a2, dtype=torch.float32, device=dev) * xs).double()
        ref2 = torch.exp2(arg32)
        rel = ((out2.double() - ref2).abs() / ref2).max().item()
        record(f"{label}.exp2_scale n={n}", not out2.isnan().any().item() and rel <= TOL_EXP2,
               max_rel_err=rel, tol=TOL_EXP2)

    # ---- matmul: C = A * Bt^T
    def run_mm(M, N, K):
        A = torch.randn(M, K, device=dev, generator=g).to(torch.bfloat16)
        Bt = torch.randn(N, K, device=dev, generator=g).to(torch.bfloat16)
        C = torch.full((M, N), float("nan"), device=dev)
        args = (memref_args(A.data_ptr(), M * K, abi) + memref_args(Bt.data_ptr(), N * K, abi)
                + memref_args(C.data_ptr(), M * N, abi) + [idx(M), idx(N), idx(K)])
        launch = lambda: L(k_mm, (N // 64, M // 64), (128,), args)  # noqa: E731
        return A, Bt, C, launch

    for (M, N, K) in MATMUL_CHECK_SIZES + [s for s in MATMUL_TIME_SIZES if s not in MATMUL_CHECK_SIZES]:
        assert M % 64 == 0 and N % 64 == 0 and K % 32 == 0
        A, Bt, C, launch = run_mm(M, N, K)
        launch()
        torch.cuda.synchronize()
        ref = A.double() @ Bt.double().T
        unwritten = int(C.isnan().sum().item())
        err = float((C.double() - ref).norm() / ref.norm()) if unwritten == 0 else float("nan")
        record(f"{label}.matmul {M}x{N}x{K}", unwritten == 0 and err <= TOL_MATMUL,
               rel_err=err, tol=TOL_MATMUL, unwritten=unwritten)
        # run-to-run determinism on the same inputs (a moving error = a race)
        C2 = C.clone()
        C.fill_(float("nan"))
        launch()
        torch.cuda.synchronize()
        same = bool(torch.equal(C, C2))
        if not same:
            record(f"{label}.matmul {M}x{N}x{K} rerun-identical", False)
        if do_time and (M, N, K) in MATMUL_TIME_SIZES and loader == "driver":
            flops = 2.0 * M * N * K
            med, lo, hi = time_launches(launch, reps=30)
            RESULTS["timings"].append(dict(name=f"{label}.matmul", M=M, N=N, K=K, ms=med,
                                           min_ms=lo, max_ms=hi, TFLOPs=flops / med / 1e9))
            print(f"  time matmul {M}x{N}x{K}: median {med:.4f} ms (min {lo:.4f}, max {hi:.4f}) "
                  f"= {flops / med / 1e9:.1f} TFLOP/s")
            if label == "main":
                BtT = Bt.T
                tm = lambda: torch.matmul(A, BtT)  # noqa: E731
                med2, lo2, _ = time_launches(tm, reps=30)
                RESULTS["timings"].append(dict(name="torch.matmul bf16 (A@Bt.T, bf16 out)", M=M, N=N,
                                               K=K, ms=med2, min_ms=lo2, TFLOPs=flops / med2 / 1e9))
                print(f"  time torch.matmul bf16 {M}x{N}x{K}: median {med2:.4f} ms "
                      f"= {flops / med2 / 1e9:.1f} TFLOP/s")
        del A, Bt, C, C2
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------
# torch-free suites (compute-sanitizer friendly)
# --------------------------------------------------------------------------
def suite_pure(d):
    print("== suite pure (numpy + cuMemAlloc, descriptor ABI)")
    rng = np.random.default_rng(7)
    mod = Module(os.path.join(d, "kernel.cubin"))
    # axpy, n = 1000 (tail)
    n = 1000
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    bx, by, bo = DevBuf(4 * n), DevBuf(4 * n), DevBuf(4 * n)
    bx.put(x), by.put(y), bo.put(np.full(n, np.nan, np.float32))
    k = mod.function("axpy")
    k.launch(((n + 255) // 256,), (256,), memref_args(bx.ptr, n, "desc") + memref_args(by.ptr, n, "desc")
             + memref_args(bo.ptr, n, "desc") + [ctypes.c_float(0.75), idx(n)])
    sync()
    out = bo.get(np.float32, n)
    err = rel_fro(out, 0.75 * x.astype(np.float64) + y)
    record("pure.axpy n=1000", err <= TOL_AXPY, rel_err=err)
    # same kernel from the PTX (format=isa) through the driver's JIT
    t0 = time.time()
    kp = Module(os.path.join(d, "kernel.ptx")).function("axpy")
    jit_s = time.time() - t0
    bo.put(np.full(n, np.nan, np.float32))
    kp.launch(((n + 255) // 256,), (256,), memref_args(bx.ptr, n, "desc") + memref_args(by.ptr, n, "desc")
              + memref_args(bo.ptr, n, "desc") + [ctypes.c_float(0.75), idx(n)])
    sync()
    err = rel_fro(bo.get(np.float32, n), 0.75 * x.astype(np.float64) + y)
    record("pure.axpy from kernel.ptx (driver JIT)", err <= TOL_AXPY, rel_err=err, jit_s=jit_s)
    # exp2
    k = mod.function("exp2_scale")
    xs = (rng.random(n) * 20 - 10).astype(np.float32)
    bx.put(xs), bo.put(np.full(n, np.nan, np.float32))
    k.launch(((n + 255) // 256,), (256,), memref_args(bx.ptr, n, "desc") + memref_args(bo.ptr, n, "desc")
             + [ctypes.c_float(1.5), idx(n)])
    sync()
    out = bo.get(np.float32, n).astype(np.float64)
    ref = np.exp2((np.float32(1.5) * xs).astype(np.float64))
    rel = float(np.max(np.abs(out - ref) / ref))
    record("pure.exp2_scale n=1000", rel <= TOL_EXP2, max_rel_err=rel)
    for b in (bx, by, bo):
        b.free()
    # matmul 128x192x96
    M, N, K = 128, 192, 96
    A = f32_to_bf16_bits(rng.standard_normal((M, K)))
    Bt = f32_to_bf16_bits(rng.standard_normal((N, K)))
    bA, bB, bC = DevBuf(A.nbytes), DevBuf(Bt.nbytes), DevBuf(4 * M * N)
    bA.put(A), bB.put(Bt), bC.put(np.full(M * N, np.nan, np.float32))
    k = mod.function("matmul")
    k.launch((N // 64, M // 64), (128,), memref_args(bA.ptr, M * K, "desc") + memref_args(bB.ptr, N * K, "desc")
             + memref_args(bC.ptr, M * N, "desc") + [idx(M), idx(N), idx(K)])
    sync()
    C = bC.get(np.float32, (M, N))
    ref = bf16_bits_to_f64(A) @ bf16_bits_to_f64(Bt).T
    err = rel_fro(C, ref)
    record(f"pure.matmul {M}x{N}x{K}", np.all(np.isfinite(C)) and err <= TOL_MATMUL, rel_err=err)
    for b in (bA, bB, bC):
        b.free()
    # shared-memory alias probes
    expect = np.concatenate([1000 + np.arange(64), 2000 + np.arange(64)]).astype(np.float32)
    for cubin, fn in (("kernel.cubin", "extsmem_alias"), ("kernel_dyn.cubin", "dynsmem_alias")):
        m2 = mod if cubin == "kernel.cubin" else Module(os.path.join(d, cubin))
        kk = m2.function(fn)
        bo = DevBuf(4 * 128)
        bo.put(np.full(128, np.nan, np.float32))
        kk.launch((1,), (64,), memref_args(bo.ptr, 128, "desc"), smem=256)
        sync()
        out = bo.get(np.float32, 128)
        distinct = bool(np.array_equal(out, expect))
        if fn == "extsmem_alias":  # the recommended way: must be right
            record(f"pure.{fn} (static vs dynamic smem distinct)", distinct,
                   static_first=float(out[0]), dynamic_first=float(out[64]),
                   static_smem=kk.attrs["SHARED_SIZE_BYTES"])
        else:  # upstream gpu.dynamic_shared_memory: a finding, not a test
            RESULTS["info"]["dynsmem_alias.distinct"] = distinct
            print(f"  [INFO] pure.{fn}: static and dynamic smem distinct = {distinct} "
                  f"(static[0]={out[0]:.0f}, dynamic[0]={out[64]:.0f}; "
                  f"static smem {kk.attrs['SHARED_SIZE_BYTES']} B)")
        RESULTS["info"][f"{fn}.out_head"] = [float(v) for v in out[:4]] + [float(v) for v in out[64:68]]
        bo.free()


def suite_sm90(d, kernel):
    """kernel: 'wgmma_kn' (B[K,N], C = A@B) or 'wgmma_nk' (Bt[N,K], C = A@Bt^T)."""
    print(f"== suite sm90: {kernel} (TMA + mbarrier + wgmma, kernel_sm90.cubin)")
    rng = np.random.default_rng(11)
    mod = Module(os.path.join(d, "kernel_sm90.cubin"))
    k = mod.function(kernel)
    print(f"  {kernel}: attrs {k.attrs} params {k.params}")
    RESULTS["info"][f"sm90.{kernel}"] = {"attrs": k.attrs, "params": k.params}
    SMEM = 73728
    k.set_max_dynamic_smem(SMEM)
    A = f32_to_bf16_bits(rng.standard_normal((64, 64)))
    B = f32_to_bf16_bits(rng.standard_normal((64, 64)))   # B[K,N] or Bt[N,K]
    bA, bB, bC = DevBuf(A.nbytes), DevBuf(B.nbytes), DevBuf(64 * 64 * 4)
    bA.put(A), bB.put(B), bC.put(np.full(64 * 64, np.nan, np.float32))

    def tmap(ptr):
        T = cu
        tm = check(T.cuTensorMapEncodeTiled(
            T.CUtensorMapDataType.CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, ptr,
            [T.cuuint64_t(64), T.cuuint64_t(64)],      # global dims, innermost first
            [T.cuuint64_t(64 * 2)],                    # byte stride of dim 1
            [T.cuuint32_t(64), T.cuuint32_t(64)],      # box = 64 x 64 (128 B rows)
            [T.cuuint32_t(1), T.cuuint32_t(1)],
            T.CUtensorMapInterleave.CU_TENSOR_MAP_INTERLEAVE_NONE,
            T.CUtensorMapSwizzle.CU_TENSOR_MAP_SWIZZLE_128B,
            T.CUtensorMapL2promotion.CU_TENSOR_MAP_L2_PROMOTION_NONE,
            T.CUtensorMapFloatOOBfill.CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE), "cuTensorMapEncodeTiled")
        raw = ctypes.string_at(int(tm.getPtr()), 128)
        buf = DevBuf(128)
        buf.put(np.frombuffer(raw, dtype=np.uint8))
        return buf

    tA, tB = tmap(bA.ptr), tmap(bB.ptr)
    # memref<64x64xf32> descriptor: (alloc, aligned, offset, 64, 64, 64, 1)
    args = [ctypes.c_void_p(tA.ptr), ctypes.c_void_p(tB.ptr),
            ctypes.c_void_p(bC.ptr), ctypes.c_void_p(bC.ptr), idx(0), idx(64), idx(64), idx(64), idx(1)]
    k.launch((1,), (128,), args, smem=SMEM)
    sync()
    C = bC.get(np.float32, (64, 64))
    a, b = bf16_bits_to_f64(A), bf16_bits_to_f64(B)
    cands = {"A@B": a @ b, "A@B^T": a @ b.T, "A^T@B": a.T @ b, "A^T@B^T": a.T @ b.T,
             "(A@B)^T": (a @ b).T, "(A@B^T)^T": (a @ b.T).T}
    want = "A@B" if kernel == "wgmma_kn" else "A@B^T"
    errs = {kk: rel_fro(C, v) for kk, v in cands.items()}
    best = min(errs, key=lambda kk: errs[kk] if not math.isnan(errs[kk]) else 9e9)
    RESULTS["info"][f"sm90.{kernel}.errors_by_layout"] = errs
    print("  rel errors by candidate layout: " + ", ".join(f"{kk}={v:.3g}" for kk, v in errs.items()))
    record(f"sm90.{kernel} 64x64x64 == {want}", errs[want] <= TOL_MATMUL,
           rel_err=errs[want], best=best, unwritten=int(np.isnan(C).sum()))
    # time one launch (latency-bound: 1 CTA; only shows the path runs repeatedly)
    med, lo, _ = time_launches(lambda: k.launch((1,), (128,), args, smem=SMEM), reps=20)
    RESULTS["timings"].append(dict(name=f"sm90.{kernel} 1 CTA", ms=med, min_ms=lo))
    print(f"  time {kernel} (1 CTA, 64x64x64): median {med * 1000:.1f} us")
    for bb in (bA, bB, bC, tA, tB):
        bb.free()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=HERE, help="folder with the cubins")
    ap.add_argument("--suites", default="main,bare,cupy")
    ap.add_argument("--no-time", action="store_true")
    ap.add_argument("--json", default=None, help="write results here")
    ap.add_argument("--no-param-probe", action="store_true",
                    help="do not probe cuFuncGetParamInfo past the last parameter")
    a = ap.parse_args()
    global PARAM_PROBE
    PARAM_PROBE = not a.no_param_probe
    t0 = time.time()
    init_driver()
    for s in a.suites.split(","):
        try:
            if s == "main":
                suite_torch(os.path.join(a.dir, "kernel.cubin"), "desc", "main", do_time=not a.no_time)
            elif s == "bare":
                suite_torch(os.path.join(a.dir, "kernel_bare.cubin"), "bare", "bare",
                            do_time=not a.no_time)
            elif s == "cupy":
                suite_torch(os.path.join(a.dir, "kernel.cubin"), "desc", "cupy", loader="cupy",
                            do_time=False)
            elif s == "pure":
                suite_pure(a.dir)
            elif s in ("sm90kn", "sm90nk"):
                suite_sm90(a.dir, "wgmma_" + s[4:])
            else:
                raise SystemExit(f"unknown suite {s}")
        except Exception as e:  # keep going: one broken suite must not hide the others
            import traceback
            traceback.print_exc()
            record(f"{s} (suite raised)", False, error=f"{type(e).__name__}: {e}")
    RESULTS["info"]["wall_s"] = time.time() - t0
    RESULTS["failed"] = FAILED
    if a.json:
        with open(a.json, "w") as f:
            json.dump(RESULTS, f, indent=1, default=str)
    print(f"== {len(RESULTS['checks']) - len(FAILED)}/{len(RESULTS['checks'])} checks passed"
          + (f"; FAILED: {FAILED}" if FAILED else ""))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
