# The host build's aarch64 tree: with EDGEBENCH_AARCH64=ON, `cmake --build`
# also cross-builds this repository for aarch64-linux-gnu (runtime only,
# toolchain aarch64-linux-gnu.cmake) into ${CMAKE_BINARY_DIR}/aarch64, and
# edgebench_qemu_test() registers host CTest tests that run its programs
# under qemu-aarch64-static. Included from the top-level CMakeLists.txt.
#
# The inner tree is an ExternalProject built on every build (BUILD_ALWAYS),
# which costs one no-op ninja run when nothing changed; its own dependency
# tracking keeps rebuilds incremental.

set(_eb_aarch64_default OFF)
if(NOT CMAKE_CROSSCOMPILING)
  find_program(EDGEBENCH_AARCH64_CXX aarch64-linux-gnu-g++)
  find_program(EDGEBENCH_QEMU_AARCH64 qemu-aarch64-static)
  if(EDGEBENCH_AARCH64_CXX AND EDGEBENCH_QEMU_AARCH64
     AND NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
    set(_eb_aarch64_default ON)
  endif()
endif()
option(EDGEBENCH_AARCH64
       "Also cross-build for aarch64 into build/aarch64 and test it under qemu"
       ${_eb_aarch64_default})

if(EDGEBENCH_AARCH64 AND CMAKE_CROSSCOMPILING)
  # The inner tree itself: never recurse.
  set(EDGEBENCH_AARCH64 OFF)
elseif(EDGEBENCH_AARCH64)
  if(NOT EDGEBENCH_AARCH64_CXX OR NOT EDGEBENCH_QEMU_AARCH64)
    message(FATAL_ERROR "EDGEBENCH_AARCH64=ON needs aarch64-linux-gnu-g++ and "
            "qemu-aarch64-static (scripts/setup.sh installs them)")
  endif()
  set(EDGEBENCH_AARCH64_BINARY_DIR ${CMAKE_BINARY_DIR}/aarch64)
  # llama.cpp in the aarch64 runtime needs its own aarch64 build.
  set(_eb_aarch64_llamacpp OFF)
  if(EDGEBENCH_LLAMACPP AND EDGEBENCH_LLAMACPP_AARCH64_ROOT)
    set(_eb_aarch64_llamacpp ON)
  elseif(EDGEBENCH_LLAMACPP)
    message(STATUS "aarch64: no EDGEBENCH_LLAMACPP_AARCH64_ROOT; its runtime has no llamacpp backend")
  endif()
  set(EDGEBENCH_AARCH64_LLAMACPP ${_eb_aarch64_llamacpp})
  include(ExternalProject)
  ExternalProject_Add(edgebench_aarch64
    SOURCE_DIR ${CMAKE_SOURCE_DIR}
    BINARY_DIR ${EDGEBENCH_AARCH64_BINARY_DIR}
    PREFIX ${CMAKE_BINARY_DIR}/aarch64-ep
    CMAKE_GENERATOR ${CMAKE_GENERATOR}
    CMAKE_ARGS
      -DCMAKE_TOOLCHAIN_FILE=${CMAKE_SOURCE_DIR}/cmake/toolchains/aarch64-linux-gnu.cmake
      -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
      -DEDGEBENCH_RUNTIME_ONLY=ON
      -DEDGEBENCH_BUILD_TESTS=${EDGEBENCH_BUILD_TESTS}
      # No arm64 libbenchmark on the host; the device benchmarks come later.
      -DEDGEBENCH_BUILD_BENCHMARKS=OFF
      -DEDGEBENCH_WERROR=${EDGEBENCH_WERROR}
      -DEDGEBENCH_LLAMACPP=${_eb_aarch64_llamacpp}
      -DEDGEBENCH_LLAMACPP_ROOT=${EDGEBENCH_LLAMACPP_AARCH64_ROOT}
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    TEST_COMMAND "")
  message(STATUS "aarch64: cross-building into ${EDGEBENCH_AARCH64_BINARY_DIR}")
elseif(NOT CMAKE_CROSSCOMPILING)
  message(STATUS "aarch64: cross build off (EDGEBENCH_AARCH64=OFF, or no "
          "aarch64-linux-gnu-g++ / qemu-aarch64-static found)")
endif()

# edgebench_qemu_test(NAME PROGRAM prog [CPU model] [ARGS ...] [ENVIRONMENT ...])
# A host test that runs bin/<prog> of the aarch64 tree under
# `qemu-aarch64-static -cpu <model>` (default max), labelled unit and qemu.
# binfmt_misc may not be mounted, so qemu is always named explicitly. A no-op
# without EDGEBENCH_AARCH64 (and inside the aarch64 tree).
function(edgebench_qemu_test name)
  cmake_parse_arguments(Q "" "PROGRAM;CPU" "ARGS;ENVIRONMENT" ${ARGN})
  if(NOT EDGEBENCH_AARCH64)
    return()
  endif()
  if(NOT Q_CPU)
    set(Q_CPU max)
  endif()
  add_test(NAME ${name}
    COMMAND ${EDGEBENCH_QEMU_AARCH64} -cpu ${Q_CPU}
            ${EDGEBENCH_AARCH64_BINARY_DIR}/bin/${Q_PROGRAM} ${Q_ARGS}
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES
    LABELS "unit;qemu"
    ENVIRONMENT "${Q_ENVIRONMENT}")
endfunction()
