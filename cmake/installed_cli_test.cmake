# Run by ctest: install the build tree into a scratch prefix and run the
# installed CLI from there, with no LD_LIBRARY_PATH, so it must find
# libupstream_jwt.so.0 through its install RPATH ($ORIGIN/../lib...).
foreach(v BUILD_DIR WORK_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "${v} not set")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()
include(GNUInstallDirs)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(cli ${prefix}/${CMAKE_INSTALL_BINDIR}/upstream-jwt)

function(run out_var)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

run(ignored ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --config ${CONFIG})
if(NOT EXISTS ${cli})
  message(FATAL_ERROR "install did not produce ${cli}")
endif()
run(version ${cli} --version)
if(NOT version MATCHES "^upstream-jwt [0-9]+\\.[0-9]+\\.[0-9]+$")
  message(FATAL_ERROR "unexpected --version output: ${version}")
endif()
# A round trip proves the installed binary reached the installed library.
file(WRITE ${WORK_DIR}/secret "0123456789abcdef0123456789abcdef")
run(token ${cli} sign --alg HS256 --key ${WORK_DIR}/secret --aud installed)
run(claims ${cli} verify --alg HS256 --key ${WORK_DIR}/secret --aud installed ${token})
if(NOT claims MATCHES "\"aud\":\"installed\"")
  message(FATAL_ERROR "installed CLI round trip: ${claims}")
endif()
message(STATUS "installed CLI ran from ${prefix} (${version})")
