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
# This machine as a device: what it is, then the runtime and the model put
# on it (content-addressed: a second run sends nothing).
"$eb" devices probe local
echo
"$eb" deploy local --work-dir "$PWD/results/device-local" --model models/tiny-q4_0.gguf
"$eb" deploy local --work-dir "$PWD/results/device-local" --model models/tiny-q4_0.gguf \
  --json > results/quickstart-deploy.json
echo
# The deployed runtime on the deployed model: 2 repetitions of 64 prompt + 32
# generated tokens; its event stream (JSON lines) goes to
# results/quickstart-events.jsonl.
read -r rt model < <(python3 -c 'import json, sys; f = json.load(open(sys.argv[1]))["files"];
print(f[0]["remote"], f[1]["remote"])' results/quickstart-deploy.json)
printf '{"schema": 1, "model": "%s", "threads": 2, "n_prompt": 64, "n_gen": 32,
         "warmup": 1, "repetitions": 2}' "$model" |
  "$rt" - > results/quickstart-events.jsonl
python3 - results/quickstart-events.jsonl <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["ev"] == "rep_end" and not e["warmup"]:
        m = e["metrics"]
        print(f"rep {e['rep']}: ttft {m['ttft_ms']:.1f} ms, prefill {m['prefill_tps']:.0f} tok/s, "
              f"decode {m['decode_tps']:.0f} tok/s, peak RSS {m.get('peak_rss_mb', 0):.0f} MiB")
PY
echo
cat <<'MSG'
What runs today: the build, the results store (edgebench db ...), synthetic
models and GGUF inspection (edgebench model ...), the native engine, the
on-device runtime (edgebench-rt), devices over local/ssh/adb with probe and
deploy (edgebench devices, edgebench deploy).
Not built yet, so not run here: sweeps that store results (`edgebench sweep`)
and reports (`edgebench report`). Each lands with its issue; this script
grows with them.
MSG
echo "store: $db   model: models/tiny-q4_0.gguf   events: results/quickstart-events.jsonl"
