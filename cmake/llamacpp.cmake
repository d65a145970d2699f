# llama.cpp for the llamacpp backend (backends/llamacpp). Its source and
# build live outside the repository (scripts/llamacpp.sh, called by
# scripts/setup.sh); this file only finds the finished prefix:
#
#   -DEDGEBENCH_LLAMACPP_ROOT=<prefix>          this tree's llama.cpp
#   -DEDGEBENCH_LLAMACPP_AARCH64_ROOT=<prefix>  the aarch64 tree's (host build)
#   -DEDGEBENCH_LLAMACPP=ON|OFF                 default ON when the root is set
#
# With it, target edgebench_llamacpp_libs links llama.cpp statically and
# EDGEBENCH_LLAMACPP_COMMIT / _FLAGS say which build it is. Without it the
# project builds and tests as before, and `--backend llamacpp` fails with an
# error that says how to get it.
set(EDGEBENCH_LLAMACPP_ROOT "" CACHE PATH
    "Prefix of a llama.cpp build made by scripts/llamacpp.sh")
set(EDGEBENCH_LLAMACPP_AARCH64_ROOT "" CACHE PATH
    "Prefix of the aarch64 llama.cpp build, for the aarch64 tree")
set(_eb_llamacpp_default OFF)
if(EDGEBENCH_LLAMACPP_ROOT)
  set(_eb_llamacpp_default ON)
endif()
option(EDGEBENCH_LLAMACPP "Link llama.cpp into edgebench-rt as the llamacpp backend"
       ${_eb_llamacpp_default})

if(EDGEBENCH_LLAMACPP)
  set(_eb_info ${EDGEBENCH_LLAMACPP_ROOT}/edgebench-llamacpp.txt)
  if(NOT EDGEBENCH_LLAMACPP_ROOT OR NOT EXISTS ${_eb_info}
     OR NOT EXISTS ${EDGEBENCH_LLAMACPP_ROOT}/.complete)
    message(FATAL_ERROR
      "EDGEBENCH_LLAMACPP=ON needs EDGEBENCH_LLAMACPP_ROOT, the prefix printed by "
      "`scripts/llamacpp.sh host` (or `aarch64` for a cross build); got "
      "\"${EDGEBENCH_LLAMACPP_ROOT}\". scripts/setup.sh does this for you; "
      "-DEDGEBENCH_LLAMACPP=OFF builds without it.")
  endif()
  file(STRINGS ${_eb_info} _eb_commit REGEX "^commit=")
  file(STRINGS ${_eb_info} _eb_flags REGEX "^flags=")
  file(STRINGS ${_eb_info} _eb_target REGEX "^target=")
  string(REGEX REPLACE "^commit=" "" EDGEBENCH_LLAMACPP_COMMIT "${_eb_commit}")
  string(REGEX REPLACE "^flags=" "" EDGEBENCH_LLAMACPP_FLAGS "${_eb_flags}")
  string(REGEX REPLACE "^target=" "" _eb_target "${_eb_target}")
  if(CMAKE_CROSSCOMPILING AND NOT _eb_target STREQUAL "aarch64")
    message(FATAL_ERROR "EDGEBENCH_LLAMACPP_ROOT is a ${_eb_target} build; this tree needs aarch64")
  elseif(NOT CMAKE_CROSSCOMPILING AND NOT _eb_target STREQUAL "host")
    message(FATAL_ERROR "EDGEBENCH_LLAMACPP_ROOT is a ${_eb_target} build; this tree needs host")
  endif()

  add_library(edgebench_llamacpp_libs INTERFACE)
  # ggml's registry (libggml) refers to the CPU backend, which refers to
  # ggml-base: static libraries in that order.
  set(_eb_lib ${EDGEBENCH_LLAMACPP_ROOT}/lib)
  target_link_libraries(edgebench_llamacpp_libs INTERFACE
    ${_eb_lib}/libllama.a ${_eb_lib}/libggml.a ${_eb_lib}/libggml-cpu.a
    ${_eb_lib}/libggml-base.a Threads::Threads ${CMAKE_DL_LIBS} m)
  # SYSTEM: llama.cpp's headers are not ours to hold to -Werror.
  target_include_directories(edgebench_llamacpp_libs SYSTEM INTERFACE
    ${EDGEBENCH_LLAMACPP_ROOT}/include)
  set(EDGEBENCH_LLAMACPP_BIN ${EDGEBENCH_LLAMACPP_ROOT}/bin)
  message(STATUS "llamacpp: llama.cpp ${EDGEBENCH_LLAMACPP_COMMIT} from ${EDGEBENCH_LLAMACPP_ROOT}")
else()
  message(STATUS "llamacpp: off (EDGEBENCH_LLAMACPP=OFF); scripts/setup.sh fetches and builds it")
endif()
