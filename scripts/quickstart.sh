#!/usr/bin/env bash
# The quickstart: installs, builds, and runs edgebench's main job on this
# machine, leaving results in results/edgebench.db.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
eb=build/bin/edgebench
db=results/edgebench.db

echo
"$eb" --version
echo
"$eb" db init --db "$db"
"$eb" db info --db "$db"
echo
cat <<'MSG'
What runs today: the build, the results store (edgebench db ...).
Not built yet, so not run here: synthetic models (`edgebench model synth`),
the on-device runtime (edgebench-rt), device discovery and deploy, sweeps
(`edgebench sweep`) and reports (`edgebench report`). Each lands with its
issue; this script grows with them.
MSG
echo "store: $db"
