#!/usr/bin/env bash
# The checks that need a machine this repository's CI does not have: a CUDA GPU, and a second x86-64 CPU.
# Run from the repository root, one stage per call; all but `replicate` take under 10 minutes each:
#
#   scripts/gpu_checks.sh reproduce     # CPU: rerun the committed adding reference, compare bit for bit
#   scripts/gpu_checks.sh throughput    # GPU: speed with --pack 8 and --cuda-graphs, FLOP/s against the peak
#   scripts/gpu_checks.sh rnn-workers   # GPU: torch's fused LSTM cannot be packed; 4 workers on one GPU instead
#   scripts/gpu_checks.sh standard TASK # GPU: the standard preset of TASK (adding or copying), packed, timed
#   scripts/gpu_checks.sh replicate     # GPU: every replication recipe at the full scale (hours: for a cluster)
#
# Every stage writes under OUT (default: gpu-checks/) and prints the commands it ran with their wall times.
# It needs torch with CUDA already installed (pip install -e . keeps it); `reproduce` needs torch 2.13.0, the
# version the reference was made with, since another version may compute other bits for reasons of its own.
set -euo pipefail
stage=${1:?"a stage: reproduce, throughput, rnn-workers, standard or replicate"}
OUT=${OUT:-gpu-checks}
mkdir -p "$OUT"
python -m pip install -q -e . >/dev/null

timed() {  # a command, its wall time appended to OUT/times.txt
    local start elapsed_ms
    start=$(date +%s%N)
    "$@"
    elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '%s\t%d.%03d s\n' "$*" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) | tee -a "$OUT/times.txt"
}

case "$stage" in
reproduce)
    # The command recorded in results/reference/adding-quick/manifest.json, on this machine's CPU.
    timed python -m bench run --task adding --preset quick --device cpu --threads 2 --numerics portable \
        --out "$OUT/adding-quick" --no-progress --no-report
    python - "$OUT/adding-quick/runs.jsonl" results/reference/adding-quick/runs.jsonl <<'PY'
import json, sys
new, old = ({r["run_key"]: r for r in map(json.loads, open(p))} for p in sys.argv[1:])
fields = ["test_loss", "test_accuracy", "val_loss", "curve"]
same = sum(all(new[k].get(f) == old[k].get(f) for f in fields) for k in old if k in new)
print(f"bit for bit: {same} of {len(old)} committed runs (run keys matched: {len(old.keys() & new.keys())})")
print("this CPU:", next(iter(new.values())).get("cpu_capability"), "| reference:", next(iter(old.values())).get("cpu_capability"))
PY
    ;;
throughput)
    timed python -m bench speed --device cuda --models rnn,lstm,gru,transformer,ssm,mamba,mingru \
        --lengths 256,1024,4096 --pack 8 --repeats 5 --out "$OUT/speed-pack" --no-progress
    timed python -m bench speed --device cuda --models transformer,ssm,mamba,mingru --lengths 256,1024 \
        --cuda-graphs --repeats 5 --out "$OUT/speed-graphs" --no-progress
    ;;
rnn-workers)
    for workers in 1 4; do
        timed python -m bench run --task adding --models lstm,gru --lengths 100 --seeds 0,1,2,3 --steps 500 \
            --device cuda --workers "$workers" --out "$OUT/rnn-workers-$workers" --no-progress --no-report
    done
    ;;
standard)
    # The target: each task within 10 minutes on one H200. Stopped at 9.5 minutes; a rerun resumes the sweep.
    task=${2:?"standard needs a task: adding or copying"}
    timed timeout 570 python -m bench run --task "$task" --preset standard --device cuda --pack \
        --out "$OUT/$task-standard" --no-progress
    ;;
replicate)
    for name in tcn-adding tcn-copying mamba-selective-copying zoology-mqar chrono-copying; do
        timed python -m bench replicate "$name" --scale full --device cuda --pack --no-progress
    done
    ;;
*)
    echo "gpu_checks.sh: stage must be one of reproduce, throughput, rnn-workers, standard, replicate; got $stage" >&2
    exit 2
    ;;
esac
