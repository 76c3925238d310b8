#!/bin/bash
# Device run (issue #14): per-block timelines of the serial forward
# (bench/forward_timeline.py; kernels from the scratch timeline hooks,
# bench/timeline_scratch_patch.py). Staged here into the git-ignored
# .device/tl, on the scratch branch's build:
#   git checkout -b timeline-scratch && python3 bench/timeline_scratch_patch.py . \
#     && git commit -qam scratch && ninja -C build
#   S=.device/tl; mkdir -p $S/launcher $S/bench $S/python
#   SPA_TIMELINE=1 PYTHONPATH=build/python_packages .venv/bin/python \
#     bench/forward_timeline.py prepare --out $S/layers
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/ 2>/dev/null
#   cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/forward_timeline.py $S/bench/ && cp bench/staged_lib.sh $S/lib.sh
#   cp bench/gpu_forward_timeline_device.sh $S/run.sh
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/tl/run.sh", carry=[".device/tl"])
# then here: python3 bench/forward_timeline.py report timeline.json --plot ...
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
timeout 400 python3 bench/forward_timeline.py run --dir layers \
  --out "$OUT/timeline.json" 2>&1 | grep -v -i warn | tee "$OUT/timeline_summary.txt"
staged_finish
