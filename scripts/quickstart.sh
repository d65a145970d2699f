#!/usr/bin/env bash
# The quickstart: installs, builds, and runs edgebench's main job on this
# machine, leaving results in results/edgebench.db.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
eb=build/bin/edgebench
db=results/edgebench.db

mkdir -p models
# Synthetic models (random weights, real shapes): tiny, and TinyLlama-1.1B,
# each as Q4_0 and Q8_0 (about 2 GiB in all; made once, kept in models/).
for type in q4_0 q8_0; do
  for preset in tiny tinyllama-1.1b; do
    out=models/$preset-$type.gguf
    [[ -s $out ]] || "$eb" model synth --preset "$preset" --type "$type" -o "$out"
  done
done
"$eb" model inspect models/tinyllama-1.1b-q4_0.gguf
echo
# This machine as a device: what it is.
"$eb" devices probe local
echo
# The sweep: the runtime and models deployed to this machine (content-
# addressed under ~/.cache/edgebench: a second run sends nothing), every
# configuration measured, every repetition stored in the results store.
"$eb" sweep workloads/sweeps/quickstart.json --db "$db" --progress plain
echo
# Reports of that sweep: Markdown (medians with 95% CIs) and a self-contained
# HTML page with charts.
"$eb" report --db "$db" --format md -o results/report.md
"$eb" report --db "$db" --format html -o results/report.html
echo
cat <<MSG
Results: $db (SQLite: sweeps, runs, reps, samples; \`edgebench db info --db $db\`)
Reports: results/report.md, results/report.html (open it in a browser)
Again with other settings: build/bin/edgebench run -d local -m models/tiny-q4_0.gguf -p 128 -n 32 -t 1,2
MSG
