# troupe_layer(NAME SOURCES src... BELOW target...): one layer of the library, built from the sources of the
# calling directory as two targets: troupe_NAME_objects (compiled once; libtroupe is made of every layer's
# objects) and troupe_NAME, a static library of the same objects for the tests, benchmarks and fuzzers that
# reach below the public API. Each layer has an include root of its own, holding only its folder (as
# "NAME/..."; a symbolic link in the build tree) and the public headers, and links only what is named in BELOW:
# a layer, or a test of it, that includes or calls a layer above fails to compile or to link.
function(troupe_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 layer "" "" "SOURCES;BELOW")
  set(root ${PROJECT_BINARY_DIR}/layers/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${root}/${name} SYMBOLIC)
  add_library(troupe_${name}_objects OBJECT ${layer_SOURCES})
  target_include_directories(troupe_${name}_objects PUBLIC ${root} ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(troupe_${name}_objects PUBLIC ${layer_BELOW})
  add_library(troupe_${name} STATIC)
  target_link_libraries(troupe_${name} PUBLIC troupe_${name}_objects)
endfunction()
