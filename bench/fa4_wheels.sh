#!/bin/sh
# FlashAttention-4 (`flash-attn-4` from PyPI) for the GPU machine, which has
# no network: download its wheels here, carry them in two calls (the CUDA 13
# CuTe DSL library is 92 MB, over one call's 64 MiB), install them there.
#
#   here:    bench/fa4_wheels.sh download        # fills .whl/a and .whl/b
#   call 1:  carry [".whl/a"]:  sh bench/fa4_wheels.sh stash
#   call 2:  carry [".whl/b", ...]: . bench/fa4_wheels.sh install && python ...
# (call 2 within the device's idle release, 30 s, of call 1.)
# `install` sets PYTHONPATH: the CuTe DSL's `cutlass` package lives under
# nvidia_cutlass_dsl/dsl_packages, which a --target install does not add;
# `cutlass.cute` comes from the -libs-core wheel (without it, 2026-12-06:
# "No module named 'cutlass.cute'"). protobuf and cuda-bindings, also
# required, are on the GPU machine already.
set -e
FA4=flash-attn-4==4.0.0b36
DSL=4.8.1
case "$1" in
download)
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
  rm -rf .whl && mkdir -p .whl/a .whl/b
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl/a \
    "$FA4" "nvidia-cutlass-dsl==$DSL" "nvidia-cutlass-dsl-libs-base==$DSL" \
    "nvidia-cutlass-dsl-libs-core==$DSL" \
    "nvidia-cutlass-dsl-libs-cu13==$DSL" einops==0.8.2 "apache-tvm-ffi==0.1.15.post2" \
    torch-c-dlpack-ext==0.1.5 quack-kernels==0.6.5
  (cd .whl/a && split -b 46M nvidia_cutlass_dsl_libs_cu13-*.whl cu13.part. && \
   rm nvidia_cutlass_dsl_libs_cu13-*.whl && mv cu13.part.ab ../b/)
  du -sh .whl/a .whl/b ;;
stash)
  mkdir -p /tmp/wh && cp .whl/a/* /tmp/wh/ ;;
install)
  cat /tmp/wh/cu13.part.aa .whl/b/cu13.part.ab > \
    /tmp/wh/nvidia_cutlass_dsl_libs_cu13-$DSL-cp312-cp312-manylinux_2_28_x86_64.whl
  rm -f /tmp/wh/cu13.part.aa
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site /tmp/wh/*.whl
  export PYTHONPATH="/tmp/site:/tmp/site/nvidia_cutlass_dsl/dsl_packages:${PYTHONPATH}" ;;
*)
  echo "usage: $0 download|stash|install" >&2; exit 2 ;;
esac
