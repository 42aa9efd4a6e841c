# Build flags and helpers shared by every module.

add_library(p2p_build_flags INTERFACE)
target_compile_options(p2p_build_flags INTERFACE -Wall -Wextra -Wno-unused-parameter)
target_include_directories(p2p_build_flags INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(p2p_build_flags INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_COROUTINE)

if(P2P_SANITIZE)
  target_compile_options(p2p_build_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                         -fno-sanitize-recover=undefined)
  target_link_options(p2p_build_flags INTERFACE -fsanitize=address,undefined)
endif()
if(P2P_FUZZ)
  # -fno-sanitize=function: clang 14 cannot instrument coroutine frames with it
  # ("Cannot represent a difference across sections").
  target_compile_options(p2p_build_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize=function -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(p2p_build_flags INTERFACE -fsanitize=address,undefined)
endif()

# Precompiled headers (cmake/pch.hpp): built once by p2p_pch, reused by every target
# (p2p_use_pch_everywhere, called at the end of the top-level CMakeLists). GCC only: the
# fuzz build (clang) compiles without them and so checks that every file includes what
# it uses. -Winvalid-pch makes a precompiled header that cannot be used visible.
option(P2P_PCH "Precompile the Asio, JSON and fmt headers (GCC builds)" ON)
if(P2P_PCH AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(p2p_build_flags INTERFACE -Winvalid-pch)
  add_library(p2p_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
  # Every target that reuses the header must see the same macros (fmt's FMT_SHARED):
  # so fmt comes with p2p_build_flags, which every module links.
  target_link_libraries(p2p_build_flags INTERFACE fmt::fmt)
  target_link_libraries(p2p_pch PUBLIC p2p_build_flags)
  target_precompile_headers(p2p_pch PRIVATE ${PROJECT_SOURCE_DIR}/cmake/pch.hpp)
endif()

# Makes every C++ target under `dir` reuse p2p_pch.
function(p2p_use_pch_everywhere dir)
  if(NOT TARGET p2p_pch)
    return()
  endif()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(target STREQUAL "p2p_pch" OR NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE)$")
      continue()
    endif()
    target_precompile_headers(${target} REUSE_FROM p2p_pch)
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    p2p_use_pch_everywhere(${subdir})
  endforeach()
endfunction()

if(P2P_TESTS AND NOT P2P_FUZZ)
  find_package(GTest REQUIRED)
  enable_testing()
endif()

# p2p_module(<target> SOURCES ... [DEPS ...])
# One folder = one module = one static library.
function(p2p_module target)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${target} STATIC ${ARG_SOURCES})
  target_link_libraries(${target} PUBLIC p2p_build_flags ${ARG_DEPS})
endfunction()

# p2p_unit_test(<name> SOURCES ... DEPS ...): a GoogleTest binary registered with
# CTest under the "unit" label. Unit tests sit next to the code they test.
function(p2p_unit_test name)
  if(NOT P2P_TESTS OR P2P_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/testing)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT 600)
  if(NOT ARG_LABEL STREQUAL "interop")
    # Built and run again under the sanitizers by the debug preset (target sanitized_tests).
    set_property(GLOBAL APPEND PROPERTY P2P_SANITIZED_TESTS ${name})
  endif()
endfunction()

# p2p_fuzzer(<name> SOURCE file DEPS ...): a libFuzzer target, run by scripts/fuzz.sh
# with its seed corpus from fuzz/corpus/<name>.
function(p2p_fuzzer name)
  if(NOT P2P_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "SOURCE" "DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCE})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set_property(GLOBAL APPEND PROPERTY P2P_FUZZERS ${name})
endfunction()
