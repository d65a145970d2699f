# Dependencies of a cross build (CMAKE_CROSSCOMPILING) that the target's
# root does not provide. Included from the top-level CMakeLists.txt.

# nlohmann_json is header-only and architecture-independent, so the host's
# package serves. Its include directory is the host's /usr/include, though,
# and putting that on a cross compiler's search path lets host libc headers
# shadow the target's (and breaks libstdc++'s #include_next); so the target
# gets a copy of just the nlohmann/ headers instead.
find_package(nlohmann_json 3.10 REQUIRED NO_CMAKE_FIND_ROOT_PATH)
get_target_property(_eb_json_includes nlohmann_json::nlohmann_json
                    INTERFACE_INCLUDE_DIRECTORIES)
set(_eb_json_copy ${CMAKE_BINARY_DIR}/cross-include)
foreach(_dir IN LISTS _eb_json_includes)
  if(EXISTS ${_dir}/nlohmann/json.hpp AND NOT EXISTS ${_eb_json_copy}/nlohmann/json.hpp)
    file(COPY ${_dir}/nlohmann DESTINATION ${_eb_json_copy})
  endif()
endforeach()
if(NOT EXISTS ${_eb_json_copy}/nlohmann/json.hpp)
  message(FATAL_ERROR "nlohmann/json.hpp not found in ${_eb_json_includes}")
endif()
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES ${_eb_json_copy})

# GoogleTest: Debian ships no libgtest for other architectures, but its
# `googletest` package has the sources. Built here, they provide the same
# GTest::gtest / GTest::gmock / GTest::gtest_main targets as find_package.
macro(edgebench_gtest_from_source)
  set(EDGEBENCH_GTEST_SOURCE_DIR /usr/src/googletest CACHE PATH
      "GoogleTest sources for cross builds (Debian package googletest)")
  if(NOT EXISTS ${EDGEBENCH_GTEST_SOURCE_DIR}/CMakeLists.txt)
    message(FATAL_ERROR "cross build: no GoogleTest sources in "
            "${EDGEBENCH_GTEST_SOURCE_DIR} (apt-get install googletest, or "
            "-DEDGEBENCH_BUILD_TESTS=OFF)")
  endif()
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  set(BUILD_GMOCK ON CACHE BOOL "" FORCE)
  # Third-party code is not held to our warning flags (-Werror above all):
  # drop every -W option for that subtree and silence it, keep the rest
  # (sanitizers).
  get_directory_property(_eb_saved_options COMPILE_OPTIONS)
  set(_eb_gtest_options ${_eb_saved_options})
  list(FILTER _eb_gtest_options EXCLUDE REGEX "^-W")
  list(APPEND _eb_gtest_options -w)
  set_directory_properties(PROPERTIES COMPILE_OPTIONS "${_eb_gtest_options}")
  add_subdirectory(${EDGEBENCH_GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/_deps/googletest
                   EXCLUDE_FROM_ALL)
  set_directory_properties(PROPERTIES COMPILE_OPTIONS "${_eb_saved_options}")
  # Linking gtest statically draws glibc's "getaddrinfo in statically linked
  # applications" warning (its unused result-streaming code): harmless.
endmacro()
