# Installs the troupe build tree into a scratch prefix, then configures, builds and runs the consumer project
# against it. Run by ctest as install.consumer_project.
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${TROUPE_BUILD} --prefix ${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${WORK}/prefix
                        "-DCMAKE_CXX_FLAGS=${FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed")
endif()
execute_process(COMMAND ${WORK}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(rc)
  message(FATAL_ERROR "the consumer failed: ${out}")
endif()
if(NOT out MATCHES "consumer {\"id\": \"123\", \"n\": 4} bad:1: unexpected symbol near '='")
  message(FATAL_ERROR "unexpected consumer output: ${out}")
endif()
execute_process(COMMAND ${WORK}/build/consumer_caf RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(rc OR NOT out STREQUAL "through CAF\n")
  message(FATAL_ERROR "the CAF consumer failed (${rc}): ${out}")
endif()
# The installed command runs from its prefix, finding the installed library by itself.
file(WRITE ${WORK}/hello.lua "print('installed', ...)")
execute_process(COMMAND ${WORK}/prefix/bin/troupe run ${WORK}/hello.lua 42 RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(rc OR NOT out STREQUAL "installed\t42\n")
  message(FATAL_ERROR "the installed troupe failed (${rc}): ${out}${err}")
endif()
message(STATUS "consumer ran: ${out}")
