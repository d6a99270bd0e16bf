# cmake -DEXAMPLE=command;args -DREFERENCE=segment_image -DMODEL=m.vseg -DIMAGES=a.png;b.png -P compare_example.cmake
# Runs a binding's SegmentImage example on each image and checks that its per-class areas
# ("class N name AREA px") are the C example's (examples/c/segment_image.c) for the same
# model and image: the binding must give the very mask the C API gives. Without the C
# example (VENSEG_BUILD_EXAMPLES=OFF) it only checks that the example runs and prints areas.
foreach(_image IN LISTS IMAGES)
  execute_process(COMMAND ${EXAMPLE} "${MODEL}" "${_image}"
                  OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
  message("${_out}${_err}")
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "the example failed (${_rc}) on ${_image}")
  endif()
  string(REGEX MATCHALL "class [0-9]+ +[A-Za-z0-9_]+ +[0-9]+ px" _areas "${_out}")
  if(NOT _areas)
    message(FATAL_ERROR "the example printed no class areas for ${_image}")
  endif()
  if(REFERENCE)
    execute_process(COMMAND "${REFERENCE}" "${MODEL}" "${_image}"
                    OUTPUT_VARIABLE _ref ERROR_VARIABLE _err RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "the C example failed (${_rc}) on ${_image}: ${_err}")
    endif()
    string(REGEX MATCHALL "class [0-9]+ +[A-Za-z0-9_]+ +[0-9]+ px" _expected "${_ref}")
    # Compare with runs of spaces collapsed (the field widths differ between languages).
    string(REGEX REPLACE " +" " " _areas "${_areas}")
    string(REGEX REPLACE " +" " " _expected "${_expected}")
    if(NOT _areas STREQUAL _expected)
      message(FATAL_ERROR "${_image}: the binding gives '${_areas}', the C example '${_expected}'")
    endif()
    message(STATUS "${_image}: same areas as the C example: ${_areas}")
  endif()
endforeach()
