#!/usr/bin/env bash
# The quickstart: installs, builds, and runs edgebench's main job on this
# machine, leaving results in results/edgebench.db.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
eb=build/bin/edgebench
db=results/edgebench.db

mkdir -p models
echo
"$eb" --version
echo
"$eb" db init --db "$db"
echo
"$eb" model synth --preset tiny --type q4_0 -o models/tiny-q4_0.gguf
"$eb" model inspect models/tiny-q4_0.gguf
echo
cat <<'MSG'
What runs today: the build, the results store (edgebench db ...), synthetic
models and GGUF inspection (edgebench model ...), and the native engine's
tests and benchmarks (build/bin/decode_bench).
Not built yet, so not run here: the on-device runtime (edgebench-rt), device
discovery and deploy, sweeps (`edgebench sweep`) and reports
(`edgebench report`). Each lands with its issue; this script grows with them.
MSG
echo "store: $db   model: models/tiny-q4_0.gguf"
