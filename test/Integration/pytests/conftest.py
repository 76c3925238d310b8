"""pytest configuration for spa's integration tests (run by the lit drivers
in test/Integration, or directly:
    .venv/bin/python -m pytest test/Integration/pytests [--spa-tools=build/bin]
SPA_EXHAUSTIVE=1 adds the slow exhaustive matrix."""

import os
import sys

# One BLAS thread: the reference multiplies many small blocks, where
# OpenBLAS's threads cost far more than they bring (40x slower on a busy
# two-core machine). Must happen before NumPy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
# For runs outside lit (lit sets PYTHONPATH itself): the reference package,
# and the spa package's IR text writer (pure Python, no native module).
sys.path.insert(0, os.path.join(SRC_ROOT, "test", "lib"))
sys.path.insert(0, os.path.join(SRC_ROOT, "python"))
sys.path.insert(0, HERE)


def pytest_addoption(parser):
    parser.addoption(
        "--spa-tools", action="store",
        default=os.environ.get("SPA_TOOLS_DIR", os.path.join(SRC_ROOT, "build", "bin")),
        help="directory holding spa-opt and spa-run (default: build/bin)")


@pytest.fixture(scope="session")
def spa_tools(request):
    path = os.path.abspath(request.config.getoption("--spa-tools"))
    for tool in ("spa-opt", "spa-run"):
        if not os.access(os.path.join(path, tool), os.X_OK):
            pytest.fail(f"{tool} not found in {path} (build it, or pass --spa-tools)")
    return path
