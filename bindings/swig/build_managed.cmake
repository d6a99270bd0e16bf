# cmake -DLANGUAGE=java|csharp -DCOMPILER=javac|mcs [-DJAR=jar] -DSOURCES=dir;dir [-DRESOURCES=file;file]
#       -DOUTPUT=file -P build_managed.cmake
# Compiles every .java / .cs file of SOURCES (SWIG's generated ones change with venseg.i,
# so they are listed at build time) into OUTPUT: venseg.jar or venseg.dll.
if(LANGUAGE STREQUAL "java")
  set(_ext java)
else()
  set(_ext cs)
endif()
set(_files)
foreach(_dir IN LISTS SOURCES)
  file(GLOB _found "${_dir}/*.${_ext}")
  list(APPEND _files ${_found})
endforeach()
if(NOT _files)
  message(FATAL_ERROR "no .${_ext} files in ${SOURCES}")
endif()

if(LANGUAGE STREQUAL "java")
  get_filename_component(_classes "${OUTPUT}" DIRECTORY)
  set(_classes "${_classes}/classes")
  file(REMOVE_RECURSE "${_classes}")
  execute_process(COMMAND "${COMPILER}" --release 11 -encoding UTF-8 -d "${_classes}" ${_files}
                  RESULT_VARIABLE _rc)
  # RESOURCES: files that go into the jar beside the classes, under libvenseg/
  foreach(_r IN LISTS RESOURCES)
    file(COPY "${_r}" DESTINATION "${_classes}/libvenseg")
  endforeach()
  if(_rc EQUAL 0)
    execute_process(COMMAND "${JAR}" cf "${OUTPUT}" -C "${_classes}" . RESULT_VARIABLE _rc)
  endif()
else()
  execute_process(COMMAND "${COMPILER}" -nologo -target:library "-out:${OUTPUT}" ${_files}
                  RESULT_VARIABLE _rc)
endif()
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${COMPILER} failed (${_rc}) building ${OUTPUT}")
endif()
