# Small helpers so each folder's CMakeLists.txt stays a few lines long.

# -Wno-restrict: GCC 12 false positive on "literal" + std::string (GCC bug 105329).
set(DOSSIER_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-restrict)

# dossier_library(NAME SOURCES ... DEPS ...): one folder = one static library,
# aliased as dossier::NAME, public headers at the folder's top.
function(dossier_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(dossier_${name} STATIC ${ARG_SOURCES})
  add_library(dossier::${name} ALIAS dossier_${name})
  target_include_directories(dossier_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(dossier_${name} PRIVATE ${DOSSIER_WARNINGS})
  target_link_libraries(dossier_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# dossier_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with CTest.
function(dossier_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;ENVIRONMENT" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  # Test tables use partial aggregate initialisation on purpose.
  target_compile_options(${name} PRIVATE ${DOSSIER_WARNINGS} -Wno-missing-field-initializers)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    DOSSIER_BINARY="$<TARGET_FILE:dossier>"
    DOSSIER_MAKE_CT_DISC="$<TARGET_FILE:make_ct_disc>"
    DOSSIER_SAMPLES_DIR="${PROJECT_SOURCE_DIR}/samples")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} ENVIRONMENT "${ARG_ENVIRONMENT}")
endfunction()

# dossier_embed_text(TARGET VAR FILE...): compiles text files (SQL migrations) into the binary
# as a generated source defining `const std::vector<std::pair<std::string,std::string>> VAR`.
function(dossier_embed_sql target var)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${var}.cc)
  set(content "// Generated from ${ARGN}. Do not edit.\n#include <string>\n#include <utility>\n#include <vector>\nnamespace dossier::vault::internal {\nextern const std::vector<std::pair<std::string, std::string>> ${var};\nconst std::vector<std::pair<std::string, std::string>> ${var} = {\n")
  foreach(f ${ARGN})
    file(READ ${f} sql)
    get_filename_component(fname ${f} NAME)
    string(APPEND content "  {\"${fname}\", R\"__sql__(${sql})__sql__\"},\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${f})
  endforeach()
  string(APPEND content "};\n}  // namespace dossier::vault::internal\n")
  file(WRITE ${out}.tmp "${content}")
  configure_file(${out}.tmp ${out} COPYONLY)
  target_sources(${target} PRIVATE ${out})
endfunction()
