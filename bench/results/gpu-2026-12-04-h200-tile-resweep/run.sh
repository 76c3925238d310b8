cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1 SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
for d in sweepA sweepC sweepB; do
  timeout 150 python3 bench/grad_sweep.py --dir $d --out $OUT/$d 2>&1 | grep -v -i warn > /dev/null
done
python3 bench/grad_sweep_summary.py sweepA=$OUT/sweepA/grad_sweep.json sweepC=$OUT/sweepC/grad_sweep.json sweepB=$OUT/sweepB/grad_sweep.json | tee $OUT/sweep_summary.txt
