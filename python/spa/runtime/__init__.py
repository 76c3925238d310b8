"""Runtimes for compiled spa artifacts. Pure Python: nothing here imports the
native compiler extension or MLIR, so a GPU machine with only PyTorch and the
CUDA driver can load and launch what the compiler produced elsewhere."""
