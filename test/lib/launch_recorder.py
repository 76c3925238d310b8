"""A recording CUDA driver for libspa_launcher.so (set_driver): the
cuLaunchKernel and cuCtx* entry points as ctypes callbacks that record
what they are handed, so launches can be checked without a GPU. Used by
test_torch_launch.py and test_torch_native.py."""

import ctypes

from spa.runtime import launcher as L


def expected_pack(kernels, pointers, stream):
    """What the driver must be handed for `kernels` (KernelLaunch) and the
    call's slot pointers, written from KernelLaunch directly."""
    words = []
    for k in kernels:
        values = [pointers[v] if kind == L.ARG_SLOT else v
                  for kind, v in k.args]
        words += [k.function, *k.grid, *k.block, k.shared_bytes, stream,
                  len(values), *values]
    return words


class Recorder:
    """cuLaunchKernel / cuCtx* stand-ins as C callbacks."""

    LAUNCH = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.c_void_p, *[ctypes.c_uint] * 7, ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)
    GET = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_void_p))
    PUSH = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)

    def __init__(self, arg_counts, current=0, fail_at=None):
        self.launches, self.events = [], []
        self.current, self.fail_at = current, fail_at
        self.arg_counts = list(arg_counts)

        def launch(f, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
            n = self.arg_counts[len(self.launches)]
            values = [ctypes.cast(params[i], ctypes.POINTER(ctypes.c_uint64)
                                  )[0] for i in range(n)]
            self.launches.append([f, gx, gy, gz, bx, by, bz, shared,
                                  stream or 0, n, *values])
            self.events.append(("launch", self.current))
            return 700 if len(self.launches) - 1 == self.fail_at else 0

        def get(out):
            out[0] = self.current
            return 0

        def push(ctx):
            self.events.append(("push", ctx))
            self.saved, self.current = self.current, ctx
            return 0

        def pop(out):
            self.events.append(("pop", self.current))
            self.current = self.saved
            return 0
        self.callbacks = (self.LAUNCH(launch), self.GET(get),
                          self.PUSH(push), self.GET(pop))

    def addresses(self):
        return [ctypes.cast(c, ctypes.c_void_p).value for c in self.callbacks]
