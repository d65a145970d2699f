#!/usr/bin/env bash
# Installs the Debian packages edgebench needs (only the missing ones, as root
# or through sudo), then configures and builds into build/.
#
#   scripts/setup.sh            install + configure + build (Release)
#   EDGEBENCH_BUILD_DIR=dir     build somewhere else
#   EDGEBENCH_CMAKE_ARGS="..."  extra arguments for cmake
#   EDGEBENCH_SKIP_BUILD=1      install packages only
#   EDGEBENCH_LLAMACPP=OFF      build without llama.cpp (no llamacpp backend);
#                               by default scripts/llamacpp.sh fetches and
#                               builds it once into ~/.cache/edgebench
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries (find_package in CMakeLists.txt)
  libcli11-dev nlohmann-json3-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # JUnit files written by `compare` are parsed back in its tests
  libtinyxml2-dev
  # tools the tests use: sqlite3 to inspect stores, setpriv to drop root
  sqlite3 util-linux
  # the aarch64 tree (EDGEBENCH_AARCH64): cross compiler, qemu to run its
  # tests, GoogleTest sources to build gtest for aarch64
  g++-aarch64-linux-gnu qemu-user-static googletest
  # tokenizer reference tests: SentencePiece's spm_train/spm_encode, and node
  # with npm to run the JavaScript tokenizers of tests/tokenizer (the test runs
  # `npm ci` there). A node installed from elsewhere (NodeSource bundles npm and
  # conflicts with Debian's npm package) is used as it is.
  sentencepiece
  # the independent reference forward pass (backends/native/reference):
  # Debian's python3 with Debian's numpy
  python3 python3-numpy
  # device transports (harness/transport) and their integration tests: the
  # real ssh/sshd and adb clients, ip netns for two-board tests, and the
  # shells the adb-scripts must run under (plus shellcheck to lint them)
  openssh-client openssh-server adb iproute2 dash busybox mksh shellcheck
  # the HTML report's browser test (reporters/html_test): Debian's headless
  # chromium, a font so its screenshot has text, libpng to decode it
  chromium fonts-dejavu-core libpng-dev
  $(command -v npm >/dev/null || echo nodejs npm)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ "${EDGEBENCH_SKIP_BUILD:-0}" == 1 ]] && exit 0

# llama.cpp for the llamacpp backend: its source from the npm registry, built
# outside the repository and reused while its commit and flags stay the same.
llamacpp_args=(-DEDGEBENCH_LLAMACPP=OFF)
if [[ "${EDGEBENCH_LLAMACPP:-ON}" != OFF ]]; then
  host_root=$(scripts/llamacpp.sh host)
  llamacpp_args=(-DEDGEBENCH_LLAMACPP=ON "-DEDGEBENCH_LLAMACPP_ROOT=$host_root")
  if command -v aarch64-linux-gnu-g++ >/dev/null; then
    aarch64_root=$(scripts/llamacpp.sh aarch64)
    llamacpp_args+=("-DEDGEBENCH_LLAMACPP_AARCH64_ROOT=$aarch64_root")
  fi
fi

build_dir=${EDGEBENCH_BUILD_DIR:-build}
# shellcheck disable=SC2086  # EDGEBENCH_CMAKE_ARGS is a list of arguments
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${llamacpp_args[@]}" \
  ${EDGEBENCH_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir"
