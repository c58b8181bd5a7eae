# libtroupe: a shared library made of every layer's objects, exporting only troupe's API (everything else has
# hidden visibility; Lua and CAF are private link dependencies). The CLI, the examples and the tests of the
# public API link it; tests of a layer below link that layer alone (cmake/layers.cmake).
set(troupe_layers serialization lua_vm actors)

add_library(troupe SHARED)
add_library(troupe::troupe ALIAS troupe)
foreach(layer IN LISTS troupe_layers)
  target_sources(troupe PRIVATE $<TARGET_OBJECTS:troupe_${layer}_objects>)
endforeach()
target_include_directories(troupe PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                         $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(troupe PUBLIC cxx_std_20)
target_link_libraries(troupe PRIVATE PkgConfig::LUA CAF::core CAF::io)
target_link_options(troupe PRIVATE -Wl,--no-undefined)
set_target_properties(troupe PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

# troupe::caf: troupe/caf.hpp, the one public header that includes CAF, for CAF applications whose actors message
# script actors. It brings CAF 0.17's core library along; the functions it declares are in libtroupe.
add_library(troupe_caf INTERFACE)
add_library(troupe::caf ALIAS troupe_caf)
target_link_libraries(troupe_caf INTERFACE troupe CAF::core)
set_target_properties(troupe_caf PROPERTIES EXPORT_NAME caf)

include(CMakePackageConfigHelpers)
install(TARGETS troupe troupe_caf EXPORT troupe-targets
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
