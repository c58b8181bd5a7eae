# libtroupe: a shared library exporting only troupe's API (everything else has hidden visibility; Lua, CAF and
# msgpack are private link dependencies), plus troupe_internal, the same objects as a static library for the
# unit tests and the CLI, which reach the layers below the public API.
set(troupe_layers troupe_serialization troupe_lua_vm troupe_actors)

add_library(troupe SHARED)
add_library(troupe::troupe ALIAS troupe)
foreach(layer IN LISTS troupe_layers)
  target_sources(troupe PRIVATE $<TARGET_OBJECTS:${layer}>)
endforeach()
target_include_directories(troupe PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                         $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(troupe PUBLIC cxx_std_20)
target_link_libraries(troupe PRIVATE PkgConfig::LUA CAF::core)
target_link_options(troupe PRIVATE -Wl,--no-undefined)
set_target_properties(troupe PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

add_library(troupe_internal STATIC)
target_link_libraries(troupe_internal PUBLIC ${troupe_layers})

include(CMakePackageConfigHelpers)
install(TARGETS troupe EXPORT troupe-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/troupe DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(EXPORT troupe-targets NAMESPACE troupe:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
configure_package_config_file(cmake/troupe-config.cmake.in ${PROJECT_BINARY_DIR}/troupe-config.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/troupe-config-version.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/troupe-config.cmake ${PROJECT_BINARY_DIR}/troupe-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
