#!/usr/bin/env bash
# Build upstream llama.cpp's own programs (llama-server, llama-cli, llama-export-lora,
# llama-quantize) from the llama.cpp vendored in the llama-cpp-python sdist that our binding is
# built from, so the tests check our adapters against the very same llama.cpp, run by
# programs nobody here wrote (tests/test_upstream_llama_slow.py).
#
#   scripts/build_llama_tools.sh          build once; a second run only prints the bin path
#   JOBS=1 scripts/build_llama_tools.sh   compile with one job (default: nproc)
#
# Output, outside the repo: $T2L_EDGE_CACHE (default ~/.cache/t2l-edge)/llama-tools-0.3.36/
#   bin/        the programs (static: they need no libllama.so next to them)
#   llama.cpp/  the extracted source (convert_lora_to_gguf.py and its gguf-py are used by tests)
#   .stamp      what was built, from which sdist, with which flags, and how long it took
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.3.36
SDIST="llama_cpp_python-${VERSION}.tar.gz"
SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
CACHE="${T2L_EDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/t2l-edge}"
TOOLS="$CACHE/llama-tools-$VERSION"
JOBS="${JOBS:-$(nproc)}"
# llama-cli in this llama.cpp is the chat client (-p PROMPT -st runs one turn); llama-quantize
# re-quantizes merged models for the noise measurement of the export-lora test.
TARGETS=(llama-server llama-cli llama-export-lora llama-quantize)
# Only what the targets need: no tests, examples, unified app, web UI download or HTTPS.
# GGML_NATIVE=OFF as for the binding's wheel: same CPU kernels, so the outputs can be compared.
CMAKE_FLAGS=(
    -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF -DGGML_BACKEND_DL=OFF
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF
)
WANT="llama-cpp-python==$VERSION sdist=$SDIST_SHA256 targets=${TARGETS[*]} flags=${CMAKE_FLAGS[*]}"
STAMP="$TOOLS/.stamp"

have_all() {
    for t in "${TARGETS[@]}"; do [ -x "$TOOLS/bin/$t" ] || return 1; done
    [ -f "$TOOLS/llama.cpp/convert_lora_to_gguf.py" ]
}

if [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$WANT" ] && have_all; then
    echo "llama.cpp tools: $TOOLS/bin (cached; $(sed -n 2p "$STAMP"))"
    exit 0
fi

PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
PKG="$CACHE/packages"
mkdir -p "$PKG" "$TOOLS"
if [ ! -f "$PKG/$SDIST" ]; then
    echo "[llama-tools] downloading the llama-cpp-python==$VERSION sdist into $PKG"
    # --no-binary: the sdist is the only file that carries llama.cpp's source.
    "$PY" -m pip download --quiet --no-deps --no-binary :all: -d "$PKG" "llama-cpp-python==$VERSION"
fi
if [ "$(sha256sum "$PKG/$SDIST" | cut -d' ' -f1)" != "$SDIST_SHA256" ]; then
    echo "error: $PKG/$SDIST does not match the pinned sha256; delete it and run again" >&2
    exit 1
fi

start=$(date +%s)
rm -f "$STAMP"
if [ ! -f "$TOOLS/llama.cpp/.extracted" ]; then
    rm -rf "$TOOLS/llama.cpp" "$TOOLS/llama.cpp.tmp"
    mkdir -p "$TOOLS/llama.cpp.tmp"
    tar -xzf "$PKG/$SDIST" -C "$TOOLS/llama.cpp.tmp" --strip-components=3 \
        "llama_cpp_python-$VERSION/vendor/llama.cpp"
    touch "$TOOLS/llama.cpp.tmp/.extracted"
    mv "$TOOLS/llama.cpp.tmp" "$TOOLS/llama.cpp"
fi

GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
echo "[llama-tools] building ${TARGETS[*]} with $JOBS job(s) (about 12 minutes on 2 cores)"
# A build folder left by an interrupted run is reused: cmake resumes where it stopped.
cmake -S "$TOOLS/llama.cpp" -B "$TOOLS/build" "${GEN[@]}" "${CMAKE_FLAGS[@]}" > "$TOOLS/cmake.log" 2>&1 \
    || { tail -n 30 "$TOOLS/cmake.log" >&2; echo "error: cmake configure failed (log: $TOOLS/cmake.log)" >&2; exit 1; }
cmake --build "$TOOLS/build" --parallel "$JOBS" --target "${TARGETS[@]}" > "$TOOLS/build.log" 2>&1 \
    || { tail -n 30 "$TOOLS/build.log" >&2; echo "error: build failed (log: $TOOLS/build.log)" >&2; exit 1; }

mkdir -p "$TOOLS/bin"
for t in "${TARGETS[@]}"; do
    install -m 0755 "$TOOLS/build/bin/$t" "$TOOLS/bin/$t"
done
secs=$(( $(date +%s) - start ))
# The object files are ~100s of MB and only a rebuild would need them.
rm -rf "$TOOLS/build"
printf '%s\nbuilt in %d s with %s job(s) on %s\n' "$WANT" "$secs" "$JOBS" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$STAMP"
echo "llama.cpp tools: $TOOLS/bin (built in ${secs} s with $JOBS job(s))"
