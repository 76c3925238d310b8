"""Writes the .npy files (good and malformed) and the small layers that
npy-errors.test feeds to spa-run: python make_npy_files.py DIR.

Malformed files are assembled byte by byte from the format's parts (magic,
version, header length, header dict, data) so that each breaks exactly one
rule of numpy.lib.format.
"""
import os
import struct
import sys

import numpy as np

from spa.layer import layer_mlir

SHAPE = (1, 1, 4, 4)  # every layer's q, k and v
DIMS = "(1, 1, 4, 4)"


def npy(header: str, data: bytes = b"", version=(1, 0), length=None) -> bytes:
    """A .npy file from its parts; `length` overrides the header length."""
    text = header.encode("latin1")
    size = len(text) if length is None else length
    prefix = b"\x93NUMPY" + bytes(version)
    prefix += struct.pack("<H" if version[0] == 1 else "<I", size)
    return prefix + text + data


def header(descr="'<f4'", fortran="False", shape=DIMS, extra=""):
    return (f"{{'descr': {descr}, 'fortran_order': {fortran}, "
            f"'shape': {shape}, {extra}}}\n")


F32 = np.arange(16, dtype="<f4").tobytes()

BAD = {
    "random": b"PK\x03\x04 this is a zip file, not an array",
    "empty": b"",
    "magic-only": b"\x93NUMPY",
    "no-length": b"\x93NUMPY\x01\x00\x10",
    "version-9": npy(header(), F32, version=(9, 0)),
    "minor-1": npy(header(), F32, version=(1, 1)),
    "huge-header": npy(header(), F32, version=(2, 0), length=0xFFFFFFFF),
    "short-header": npy(header(), b"", length=4000),
    "not-a-dict": npy("[1, 2, 3]\n", F32),
    "int32": npy(header(descr="'<i4'"), F32),
    "big-endian": npy(header(descr="'>f4'"), F32),
    "complex": npy(header(descr="'<c8'"), F32 * 2),
    "no-descr": npy("{'fortran_order': False, 'shape': (1, 1, 4, 4), }\n",
                    F32),
    "fortran": npy(header(fortran="True"), F32),
    "fortran-garbage": npy(header(fortran="Maybe"), F32),
    "negative-dim": npy(header(shape="(1, -1, 4, 4)"), F32),
    "shape-list": npy(header(shape="[1, 1, 4, 4]"), F32),
    "shape-unclosed": npy("{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (1, 1, 4, 4\n", F32),
    "one-dim-no-comma": npy(header(shape="(16)"), F32),
    "dim-too-large": npy(header(shape="(99999999999999999999, 1)"), F32),
    "count-overflow": npy(header(shape="(4294967296, 4294967296)"), F32),
    "bytes-overflow": npy(header(descr="'<f8'",
                                 shape="(4611686018427387904,)"), F32),
    "huge-count": npy(header(shape="(1, 1, 4000000000, 4)"), F32),
    "truncated-data": npy(header(), F32[:-4]),
    "extra-data": npy(header(), F32 + b"\0\0\0\0"),
    "unknown-key": npy(header(extra="'order': 'C', "), F32),
    "duplicate-key": npy("{'descr': '<f4', 'descr': '<f4', "
                         "'fortran_order': False, 'shape': (1, 1, 4, 4)}\n",
                         F32),
    "unterminated-string": npy("{'descr: '<f4', 'fortran_order': False, "
                               "'shape': (1, 1, 4, 4), }\n", F32),
    "trailing-text": npy(header() + "garbage", F32),
}


def main(directory):
    os.makedirs(directory, exist_ok=True)
    for dtype in ("f32", "f16", "bf16"):
        with open(os.path.join(directory, f"layer-{dtype}.mlir"), "w") as f:
            f.write(layer_mlir(batch=1, heads=1, kv_heads=1, query_len=4,
                               key_len=4, head_dim=4, value_dim=4,
                               dtype=dtype, mode="causal",
                               bands="dense_causal"))
    for name, data in BAD.items():
        with open(os.path.join(directory, f"{name}.npy"), "wb") as f:
            f.write(data)
    values = np.random.default_rng(0).standard_normal(SHAPE)
    for dtype in ("float16", "float32", "float64"):
        np.save(os.path.join(directory, f"good-{dtype}.npy"),
                values.astype(dtype))
    np.save(os.path.join(directory, "good-rank3.npy"),
            values.astype("float32")[0])
    np.save(os.path.join(directory, "good-0d.npy"), np.float32(1.0))
    # Other spellings numpy accepts: format 2.0, double quotes, no trailing
    # comma, no padding.
    with open(os.path.join(directory, "good-v2.npy"), "wb") as f:
        f.write(npy('{"descr": "<f4", "fortran_order": False, '
                    '"shape": (1,1,4,4)}', F32, version=(2, 0)))


if __name__ == "__main__":
    main(sys.argv[1])
