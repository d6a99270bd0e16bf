# venseg_enable_sanitizers("address;undefined") / ("thread")
#
# Instruments the whole build (library, tests, examples) with GCC/Clang
# sanitizers. Recovery is disabled, so any UBSan report aborts the process and
# fails the test that triggered it; frame pointers are kept for useful stacks.
# libgomp is not TSan-instrumented: run "thread" builds with OMP_NUM_THREADS=1.
function(venseg_enable_sanitizers sanitizers)
  if(NOT sanitizers)
    return()
  endif()
  if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "VENSEG_SANITIZE needs GCC or Clang (have ${CMAKE_C_COMPILER_ID})")
  endif()
  foreach(_s IN LISTS sanitizers)
    if(NOT _s MATCHES "^(address|undefined|thread|leak|memory)$")
      message(FATAL_ERROR "VENSEG_SANITIZE: unknown sanitizer '${_s}'")
    endif()
  endforeach()
  if("thread" IN_LIST sanitizers AND "address" IN_LIST sanitizers)
    message(FATAL_ERROR "VENSEG_SANITIZE: 'thread' cannot be combined with 'address'")
  endif()
  list(JOIN sanitizers "," _joined)
  set(_flags "-fsanitize=${_joined}" "-fno-omit-frame-pointer" "-fno-sanitize-recover=all")
  add_compile_options(${_flags})
  add_link_options("-fsanitize=${_joined}")
  message(STATUS "libvenseg: sanitizers ${_joined} (no recovery)")
endfunction()
