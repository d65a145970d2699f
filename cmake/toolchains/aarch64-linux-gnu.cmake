# Cross toolchain for 64-bit ARM Linux (phones, Raspberry Pi 4/5, Jetson,
# RK3588) with Debian's g++-aarch64-linux-gnu.
#
#   cmake -S . -B build-aarch64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#     -DEDGEBENCH_RUNTIME_ONLY=ON -DEDGEBENCH_BUILD_BENCHMARKS=OFF
#
# Executables link statically: the runtime is pushed to devices whose libc
# we do not control, and qemu-aarch64-static runs them without a sysroot.
# The host build does this for you (EDGEBENCH_AARCH64, aarch64_tree.cmake).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(EDGEBENCH_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${EDGEBENCH_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${EDGEBENCH_CROSS_TRIPLE}-g++)

# Libraries and headers only from the target's root; programs (code
# generators, git) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${EDGEBENCH_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# Run target programs under qemu when it is installed: CTest in this tree
# then works, and gtest_discover_tests lists cases through it. Discovery
# waits until the tests run (PRE_TEST), so building never needs qemu.
find_program(EDGEBENCH_QEMU_AARCH64 qemu-aarch64-static)
if(EDGEBENCH_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${EDGEBENCH_QEMU_AARCH64})
endif()
set(CMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE PRE_TEST)
