# Third-party dependencies of the network core. LibTorch stays private to src/: no public
# header includes torch, so users of the ITK filters never need find_package(Torch).
# PyTorch's wheel (torch.utils.cmake_prefix_path = <torch>/share/cmake) finds its libraries with
# find_library(... PATHS <torch>/lib), which searches the system folders first: with Debian's
# LibTorch also installed, the wheel's headers would be linked with Debian's libtorch.so. Putting
# <torch> itself on the prefix path makes find_library look there first.
foreach(prefix IN LISTS CMAKE_PREFIX_PATH)
  if(EXISTS "${prefix}/Torch/TorchConfig.cmake")
    get_filename_component(torch_root "${prefix}/../.." ABSOLUTE)
    list(PREPEND CMAKE_PREFIX_PATH "${torch_root}")
  endif()
endforeach()
find_package(Torch REQUIRED)
get_filename_component(shmoareg_torch_prefix "${TORCH_INSTALL_PREFIX}" REALPATH)
foreach(library IN ITEMS TORCH_LIBRARY C10_LIBRARY C10_CUDA_LIBRARY)
  if(${library})
    get_filename_component(path "${${library}}" REALPATH)
    string(FIND "${path}" "${shmoareg_torch_prefix}/" at)
    if(NOT at EQUAL 0)
      message(FATAL_ERROR "LibTorch from ${shmoareg_torch_prefix} but ${library} is ${path}: two "
        "LibTorch installations are mixed. Pass the LibTorch folder itself in CMAKE_PREFIX_PATH "
        "(for PyTorch's wheel: the folder of torch/__init__.py).")
    endif()
  endif()
endforeach()
message(STATUS "LibTorch ${Torch_VERSION} from ${shmoareg_torch_prefix}")
# PyTorch's wheels carry a static copy of libstdc++'s std::filesystem and export it from
# libtorch.so and libtorch_cpu.so; unless the shared libstdc++ comes before libtorch in a binary's
# needed libraries, our std::filesystem calls bind to that copy, which is another compiler's
# layout: every filesystem test crashed on a machine with GCC 13 and torch 2.11. The shared
# libstdc++ by its file name: a plain -lstdc++ there found only the compiler's static
# libstdc++.a (the GPU machine's toolchain), which adds no needed entry (checked with readelf
# and LD_DEBUG=bindings on that machine).
add_link_options("LINKER:--push-state,--no-as-needed" "LINKER:-l:libstdc++.so.6" "LINKER:--pop-state")
# PyTorch's CUDA wheel finds the CUDA libraries of its nvidia-* wheels through its own RPATH; the
# linker looks first in the link line's -rpath folders, which hold a system CUDA toolkit's older
# copies (libnccl.so.2 without the symbols libtorch_cuda.so uses). Point it at the wheel's.
file(GLOB shmoareg_torch_wheel_cuda_libraries LIST_DIRECTORIES true "${shmoareg_torch_prefix}/../nvidia/*/lib")
foreach(folder IN LISTS shmoareg_torch_wheel_cuda_libraries)
  add_link_options("LINKER:-rpath-link,${folder}")
endforeach()
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
if(BUILD_TESTING)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(SHMOAREG_BUILD_BENCHMARKS)
  find_package(benchmark QUIET)
endif()

# Sanitised and fuzzing builds (scripts/sanitize-and-fuzz.sh): the module's own code is
# instrumented; LibTorch, ITK and VTK are linked as they are.
option(SHMOAREG_SANITIZE "Instrument the module's code with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(SHMOAREG_FUZZ "Build the libFuzzer targets of test/fuzz (needs clang)" OFF)
if(SHMOAREG_SANITIZE)
  # UBSan reports stay recoverable so that test/sanitizers/ubsan.supp can silence ITK's own; every other
  # report stops the process (UBSAN_OPTIONS=halt_on_error=1, scripts/sanitize-and-fuzz.sh).
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(SHMOAREG_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SHMOAREG_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
  endif()
  # Coverage feedback in every library the targets link; the targets add libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Warnings clean on our code; torch's own headers are included as system headers.
function(shmoareg_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()

# torch/torch.h takes about 40 s to precompile, once per target that precompiles it (a quarter of
# a cold build's compile time with nine such targets). With GCC, the first target of each group
# precompiles it and the others of the group reuse that one. Groups: libraries; programs (GCC
# takes a -fPIC header in a -fPIC compile only, and programs compile with -fPIE); and GROUPs of
# their own for programs without ITK's or GoogleTest's definitions (a header precompiled with
# one, such as kiss_fft_scalar, is refused where it is absent). -Winvalid-pch says so if a
# reusing target's flags ever make GCC parse the header instead. Clang (the sanitised build)
# keeps one per target.
#   shmoareg_precompile_torch(TARGET [GROUP NAME])
function(shmoareg_precompile_torch target)
  cmake_parse_arguments(PCH "" "GROUP" "" ${ARGN})
  get_target_property(type ${target} TYPE)
  if(PCH_GROUP)
    set(owner_property SHMOAREG_TORCH_PCH_${PCH_GROUP})
  elseif(type STREQUAL "EXECUTABLE")
    set(owner_property SHMOAREG_TORCH_PCH_PROGRAMS)
  else()
    set(owner_property SHMOAREG_TORCH_PCH_LIBRARIES)
  endif()
  get_property(owner GLOBAL PROPERTY ${owner_property})
  if(owner AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_precompile_headers(${target} REUSE_FROM ${owner})
    target_compile_options(${target} PRIVATE -Winvalid-pch)
  else()
    target_precompile_headers(${target} PRIVATE <torch/torch.h>)
    if(NOT owner)
      set_property(GLOBAL PROPERTY ${owner_property} ${target})
    endif()
  endif()
endfunction()
