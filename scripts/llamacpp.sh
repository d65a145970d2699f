#!/usr/bin/env bash
# Fetches llama.cpp's source from the npm registry and builds it outside the
# repository, for the llamacpp backend (backends/llamacpp) and for the tools
# the tests compare against (llama-quantize, llama-bench, llama-perplexity).
#
#   scripts/llamacpp.sh host      build for this machine, print the prefix
#   scripts/llamacpp.sh aarch64   cross-build the libraries, print the prefix
#
# Nothing of llama.cpp is committed. The source comes from the npm package
# node-llama-cpp, which ships it as a git bundle; the version and the commit
# are pinned here and the commit is verified. Each build lands in
#   ${EDGEBENCH_CACHE:-~/.cache/edgebench}/llama.cpp-<commit>/<target>-<key>/
# where <key> hashes everything that changes the binaries (the cmake flags,
# the compiler's version, and for the host build this CPU's flags, since it
# is built for this CPU). A finished build has a `.complete` stamp and is
# reused as it is: a second run costs a few file checks.
#
# The prefix holds include/ (llama.h, ggml*.h), lib/ (static libraries),
# bin/ (host only: the tools), LICENSE (llama.cpp's MIT notice) and
# edgebench-llamacpp.txt (commit, target, flags) that CMake reads.
set -euo pipefail

readonly npm_package=node-llama-cpp@3.22.1
readonly commit=de3ff815ea7d559ee917f063901b8986f038abc6

target=${1:-}
case "$target" in
  host | aarch64) ;;
  *)
    echo "usage: scripts/llamacpp.sh host|aarch64" >&2
    exit 2
    ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${EDGEBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgebench}
root=$cache/llama.cpp-$commit
jobs=$(nproc)

log() { echo "llamacpp: $*" >&2; }
die() {
  echo "llamacpp: $*" >&2
  exit 1
}

# ---- the source: npm pack, then clone the bundle; verified by commit ----
src=$root/src
if [[ "$(git -C "$src" rev-parse HEAD 2>/dev/null || true)" != "$commit" ]]; then
  command -v npm >/dev/null || die "npm is needed to fetch llama.cpp's source (scripts/setup.sh installs it)"
  mkdir -p "$root"
  tmp=$(mktemp -d "$root/fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "fetching $npm_package (llama.cpp $commit) from the npm registry"
  (cd "$tmp" && npm pack --silent "$npm_package" >/dev/null) ||
    die "npm pack $npm_package failed (is the npm registry reachable?)"
  tar -xzf "$tmp"/node-llama-cpp-*.tgz -C "$tmp" package/llama/gitRelease.bundle ||
    die "$npm_package has no package/llama/gitRelease.bundle"
  git clone -q "$tmp/package/llama/gitRelease.bundle" "$tmp/src" 2>/dev/null ||
    die "cannot clone the git bundle of $npm_package"
  got=$(git -C "$tmp/src" rev-parse HEAD)
  [[ "$got" == "$commit" ]] || die "$npm_package holds llama.cpp $got, expected $commit"
  git -C "$tmp/src" -c advice.detachedHead=false checkout -q "$commit"
  rm -rf "$src"
  mv "$tmp/src" "$src"
  rm -rf "$tmp"
  trap - EXIT
fi

# ---- the build: keyed by commit and flags ----
common_flags=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  # ggml's own thread pool (no OpenMP): it takes a CPU mask, so threads are
  # pinned the way the native engine pins them, and the runtime stays one
  # static binary without libgomp.
  -DGGML_OPENMP=OFF
  -DGGML_CCACHE=OFF
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_SERVER=OFF
  -DLLAMA_BUILD_APP=OFF
  -DLLAMA_OPENSSL=OFF
)
if [[ $target == host ]]; then
  cxx=${CXX:-c++}
  # Built for this CPU (-march=native), as llama.cpp builds by default; the
  # backend refuses a CPU without the features it was built for.
  flags=("${common_flags[@]}" -DGGML_NATIVE=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON)
  if [[ $(uname -m) == x86_64 ]]; then
    # Without AMX: virtual machines (this project's among them) advertise
    # AMX in cpuid while its tile instructions fault, and ggml's AMX path
    # then dies in its first matmul (llama-bench at de3ff81: SIGILL and
    # SIGSEGV on a Q8_0 prompt). Explicit -mno- flags win over
    # -march=native; llama.cpp uses its AVX-512/AVX2 kernels, as on any CPU
    # without AMX.
    no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    flags+=("-DCMAKE_C_FLAGS=$no_amx" "-DCMAKE_CXX_FLAGS=$no_amx")
  fi
  cpu_key=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m)
  targets=(llama ggml ggml-base ggml-cpu llama-quantize llama-bench llama-perplexity)
else
  cxx=aarch64-linux-gnu-g++
  command -v "$cxx" >/dev/null || die "$cxx is needed for the aarch64 build (scripts/setup.sh installs it)"
  # ARMv8.2-A with dotprod and fp16: every phone and board core since
  # Cortex-A55/A75 (2017); the backend refuses a CPU without them.
  flags=("${common_flags[@]}" -DGGML_NATIVE=OFF -DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16
    -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_COMMON=OFF
    "-DCMAKE_TOOLCHAIN_FILE=$repo/cmake/toolchains/aarch64-linux-gnu.cmake")
  cpu_key=aarch64
  targets=(llama ggml ggml-base ggml-cpu)
fi
key=$(printf '%s\n' "${flags[@]/$repo/}" "$($cxx --version | head -1)" "$cpu_key" |
  sha256sum | cut -c1-12)
out=$root/$target-$key
prefix=$out/prefix

if [[ ! -f $prefix/.complete ]]; then
  log "building llama.cpp ${commit:0:7} for $target into $out (a few minutes on 2 cores)"
  rm -rf "$prefix"
  cmake -S "$src" -B "$out/build" -G Ninja "${flags[@]}" >"$out.configure.log" 2>&1 ||
    die "configuring llama.cpp failed; see $out.configure.log"
  cmake --build "$out/build" -j "$jobs" --target "${targets[@]}" >"$out.build.log" 2>&1 ||
    die "building llama.cpp failed; see $out.build.log"
  mkdir -p "$prefix/include" "$prefix/lib"
  cp "$src/include/llama.h" "$src"/ggml/include/*.h "$prefix/include/"
  for lib in llama ggml ggml-base ggml-cpu; do
    found=$(find "$out/build" -name "lib$lib.a" -print -quit)
    [[ -n $found ]] || die "lib$lib.a was not built (see $out.build.log)"
    cp "$found" "$prefix/lib/"
  done
  if [[ $target == host ]]; then
    mkdir -p "$prefix/bin"
    for tool in llama-quantize llama-bench llama-perplexity; do
      cp "$out/build/bin/$tool" "$prefix/bin/"
    done
  fi
  cp "$src/LICENSE" "$prefix/LICENSE"
  {
    echo "commit=$commit"
    echo "source=npm:$npm_package"
    echo "target=$target"
    echo "flags=${flags[*]/$repo/}"
  } >"$prefix/edgebench-llamacpp.txt"
  touch "$prefix/.complete"
fi
echo "$prefix"
