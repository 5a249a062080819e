# Third-party dependencies of the network core. LibTorch stays private to src/: no public
# header includes torch, so users of the ITK filters never need find_package(Torch).
find_package(Torch REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
if(BUILD_TESTING)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(SHMOAREG_BUILD_BENCHMARKS)
  find_package(benchmark QUIET)
endif()

# Warnings clean on our code; torch's own headers are included as system headers.
function(shmoareg_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
