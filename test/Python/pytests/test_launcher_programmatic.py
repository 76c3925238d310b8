"""Launcher ABI 3: kernels flagged programmatic (launch.json
`programmatic_launch`, the programmatic-launch option: each waits for the
grids before it with griddepcontrol.wait first). On this machine without a
GPU, with libspa_launcher.so and a recording driver
(test/lib/launch_recorder.py):

- kernel_launch() reads the flag (a non-bool is a ValueError) and
  encode_plan() writes it into the kernel's header;
- a flagged kernel goes through cuLaunchKernelEx with one attribute,
  programmatic stream serialization = 1 (the recorder checks the
  CUlaunchConfig it is handed: grid, block, shared bytes, stream), an
  unflagged one through cuLaunchKernel, in plan order;
- without cuLaunchKernelEx (set_launch_ex(0)) a flagged kernel is launched
  plainly (the wait at its start then returns at once);
- a plan with an unknown flag bit launches nothing.
"""

import pytest

from spa.runtime import launcher as L
from launch_recorder import (Recorder, expected_pack, load_with_recorder,
                             private_library_copy)

STREAM = 0x5150
POINTERS = [0x7F00_0000_0000, 0x7F00_0001_0000]


def _kernel(name, function, programmatic):
    return L.KernelLaunch(name, function, (3, 2, 1), (128, 1, 1), 4096,
                          ((L.ARG_SLOT, 0), (L.ARG_CONSTANT, 0x7000_0100),
                           (L.ARG_SLOT, 1)),
                          ("q", "work", "out"), programmatic)


KERNELS = [_kernel("forward", 0xF000, True), _kernel("plain", 0xF001, False),
           _kernel("dq", 0xF002, True)]


@pytest.fixture
def library(tmp_path):
    """A private copy (its driver pointers are its own)."""
    return L.LauncherLibrary(private_library_copy(tmp_path))


def _meta(**extra):
    return dict(name="k", grid=[4], block=[128], shared_bytes=0,
                args=[dict(name="out", kind="output")], **extra)


def test_kernel_launch_reads_the_flag():
    assert L.kernel_launch(_meta(), 1, {"out": 0}, {}).programmatic is False
    flagged = L.kernel_launch(_meta(programmatic_launch=True), 1,
                              {"out": 0}, {})
    assert flagged.programmatic is True
    for bad in (1, "true", None):
        with pytest.raises(ValueError, match="'programmatic_launch' must "
                           "be true or false"):
            L.kernel_launch(_meta(programmatic_launch=bad), 1, {"out": 0},
                            {})


def test_encode_plan_writes_the_flags():
    plan = list(L.encode_plan(KERNELS, 2))
    at = L.PLAN_HEADER
    flags = []
    for k in KERNELS:
        header = plan[at:at + L.KERNEL_HEADER]
        assert header[:8] == [k.function, *k.grid, *k.block, k.shared_bytes]
        flags.append(header[8])
        assert header[9] == len(k.args)
        at += L.KERNEL_HEADER + 2 * len(k.args)
    assert flags == [L.KERNEL_PROGRAMMATIC, 0, L.KERNEL_PROGRAMMATIC]
    assert at == len(plan)


def test_flagged_kernels_go_through_launch_ex(library):
    recorder = Recorder(KERNELS, current=0xAAA0)
    recorder.install(library)
    L.CompiledLauncher(library, KERNELS, 2, 0)(POINTERS, STREAM)
    flat = [w for launch in recorder.launches for w in launch]
    # The recorder's cuLaunchKernelEx asserted the one attribute; flags
    # say which entry point each launch came through.
    assert flat == expected_pack(KERNELS, POINTERS, STREAM)
    assert [launch[8] for launch in recorder.launches] == [1, 0, 1]
    assert flat == library.pack(L.encode_plan(KERNELS, 2), POINTERS, STREAM)


def test_without_launch_ex_flagged_kernels_launch_plainly(library):
    recorder = Recorder(KERNELS)
    recorder.install(library, launch_ex=False)
    L.CompiledLauncher(library, KERNELS, 2, 0)(POINTERS, STREAM)
    assert [launch[8] for launch in recorder.launches] == [0, 0, 0]
    plain = [_kernel(k.name, k.function, False) for k in KERNELS]
    assert [w for launch in recorder.launches for w in launch] == \
        expected_pack(plain, POINTERS, STREAM)


@pytest.mark.parametrize("flags", [2, 3, -1, 1 << 40])
def test_unknown_flags_launch_nothing(library, flags):
    recorder = Recorder(KERNELS)
    recorder.install(library)
    plan = L.encode_plan(KERNELS, 2)
    plan[L.PLAN_HEADER + 8] = flags
    code = library.lib.spa_launch_op(plan.buffer_info()[0],
                                     L._pack_pointers(POINTERS), 2, STREAM)
    assert code == -1 and "malformed launch plan" in L.launch_error(code)
    assert recorder.launches == []


def test_load_wires_launch_ex(monkeypatch, tmp_path):
    """_load() hands the library cuLaunchKernelEx (fourth of
    _cuda_driver_entries()): op_launcher's launches of flagged kernels go
    through it."""
    recorder = Recorder(KERNELS)
    load_with_recorder(monkeypatch, tmp_path, recorder)
    try:
        launcher = L.op_launcher(KERNELS, 2, 0)
        assert launcher.kind == "compiled"
        launcher(POINTERS, STREAM)
        assert [launch[8] for launch in recorder.launches] == [1, 0, 1]
    finally:
        L.reset_for_tests()
