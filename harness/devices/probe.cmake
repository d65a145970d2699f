# Probing a device: adb-scripts/probe.sh run through a Transport and parsed
# (probe.cc), with probe.sh, prepare.sh and restore.sh compiled in.
set(_eb_scripts_dir ${CMAKE_SOURCE_DIR}/adb-scripts)
set(_eb_scripts_h ${CMAKE_BINARY_DIR}/generated/harness/devices/scripts_embedded.h)
# Build time, not configure time: editing a script regenerates the header
# and recompiles probe.cc without re-running cmake.
add_custom_command(
  OUTPUT ${_eb_scripts_h}
  COMMAND ${CMAKE_COMMAND} -DSCRIPTS_DIR=${_eb_scripts_dir} -DOUTPUT=${_eb_scripts_h}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/probe_embed.cmake
  DEPENDS ${_eb_scripts_dir}/probe.sh ${_eb_scripts_dir}/prepare.sh
          ${_eb_scripts_dir}/restore.sh ${CMAKE_CURRENT_SOURCE_DIR}/probe_embed.cmake
  COMMENT "Embedding adb-scripts/{probe,prepare,restore}.sh"
  VERBATIM)

add_library(edgebench_probe STATIC
  probe.cc
  probe.h
  scripts.h
  ${_eb_scripts_h})
target_link_libraries(edgebench_probe PUBLIC
  edgebench_transport edgebench_base nlohmann_json::nlohmann_json)

if(EDGEBENCH_BUILD_TESTS)
  edgebench_test(probe_test SOURCES probe_test.cc
                 LIBS edgebench_probe edgebench_testing)
endif()
