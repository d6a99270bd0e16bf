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

# venseg_enable_fuzzing(): for VENSEG_FUZZ. Coverage instrumentation for libFuzzer on
# the whole build (the fuzz targets add -fsanitize=fuzzer at link), and ASan + UBSan
# unless VENSEG_SANITIZE already names sanitizers.
macro(venseg_enable_fuzzing)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VENSEG_FUZZ needs Clang (libFuzzer), e.g. -DCMAKE_C_COMPILER=clang-14 "
                        "-DCMAKE_CXX_COMPILER=clang++-14 (have ${CMAKE_C_COMPILER_ID})")
  endif()
  if(NOT VENSEG_SANITIZE)
    set(VENSEG_SANITIZE "address;undefined")
  endif()
  if("thread" IN_LIST VENSEG_SANITIZE)
    message(FATAL_ERROR "VENSEG_FUZZ: libFuzzer targets run with ASan/UBSan, not TSan")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endmacro()
