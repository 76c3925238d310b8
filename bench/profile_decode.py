"""One call of a decode artifact for Nsight Compute (issue #14): loads the
artifact staged by `bench/decode_device.py prepare`, warms up, then makes
the calls ncu profiles. Usage on the GPU machine:
    ncu --section SpeedOfLight ... python3 bench/profile_decode.py DIR NAME
"""

import json
import os
import sys

import torch

from spa.runtime.cuda import CudaArtifact, CudaLayer


def main():
    directory, name = sys.argv[1], sys.argv[2]
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    layer = next(l for l in manifest["layers"] if l["name"] == name)
    b, h, hk = layer["batch"], layer["heads"], layer["kv_heads"]
    nk, nq, d = layer["seq_len"], layer["query_len"], layer["head_dim"]
    q = torch.randn(b, h, nq, d, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(b, hk, nk, d, device="cuda", dtype=torch.bfloat16)
            for _ in range(2))
    fwd = CudaLayer(CudaArtifact.load(os.path.join(directory, name)))
    for _ in range(3):
        fwd(q, k, v)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
