# Finds troupe's dependencies, all from Debian's packages: Lua 5.4 (the C build, via pkg-config), CAF 0.17 (no
# CMake package in Debian: imported targets defined here), CLI11 (the command's arguments), and for the tests GoogleTest and msgpack-c (header-only
# C++ part, an independent implementation the codec is checked against).
find_package(PkgConfig REQUIRED)
find_package(CLI11 2 CONFIG REQUIRED)
pkg_check_modules(LUA REQUIRED IMPORTED_TARGET lua5.4)

find_path(CAF_INCLUDE_DIR caf/config.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
find_library(CAF_IO_LIBRARY caf_io)
if(CAF_INCLUDE_DIR AND CAF_CORE_LIBRARY AND CAF_IO_LIBRARY)
  add_library(CAF::core SHARED IMPORTED)
  set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
                                             INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
  add_library(CAF::io SHARED IMPORTED)
  set_target_properties(CAF::io PROPERTIES IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
                                           INTERFACE_LINK_LIBRARIES CAF::core)
else()
  message(FATAL_ERROR "CAF 0.17 not found: run scripts/bootstrap (Debian package libcaf-dev)")
endif()

if(TROUPE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  find_package(msgpack 4 CONFIG REQUIRED)
endif()
if(TROUPE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
