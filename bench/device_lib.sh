# Shell functions the device scripts share (bench/train_device.sh,
# bench/torch_native_device.sh, bench/train_multi_gpu.sh); sourced from the
# repository root.

# Here: spa.torch's compiled pieces into .device/launcher, which the device
# calls carry: libspa_launcher.so (plain C) and _spa_torch_native.so (built
# against this PyTorch, the device's version; docs/torch.md).
stage_launchers() {
  mkdir -p .device/launcher
  cp build/python_packages/spa/runtime/libspa_launcher.so \
     build/python_packages/spa/torch/_spa_torch_native.so .device/launcher/
}

# There: point spa at the carried copies (the device's tree has no build).
use_launchers() {
  if [ -f .device/launcher/libspa_launcher.so ]; then
    export SPA_LAUNCHER_LIB=$PWD/.device/launcher/libspa_launcher.so
  fi
  if [ -f .device/launcher/_spa_torch_native.so ]; then
    export SPA_TORCH_NATIVE_LIB=$PWD/.device/launcher/_spa_torch_native.so
  fi
}

# There: the GPU, driver and PyTorch into OUT/device.txt (and the log).
record_device() {
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader \
    | tee "$1/device.txt"
  python3 -c "import torch; print('torch', torch.__version__)" \
    | tee -a "$1/device.txt"
}
