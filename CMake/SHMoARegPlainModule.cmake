# The plain-CMake path against an installed ITK without ITK's module macros (Debian's
# libinsighttoolkit5-dev). It reads the module's ITK dependencies from itk-module.cmake,
# so the two build paths share one description, then builds src/ and test/ as the
# module path would.
macro(itk_module _name)
  cmake_parse_arguments(_SHMOAREG_MODULE "EXCLUDE_FROM_DEFAULT;ENABLE_SHARED"
    "DESCRIPTION" "DEPENDS;PRIVATE_DEPENDS;COMPILE_DEPENDS;TEST_DEPENDS" ${ARGN})
  set(SHMoAReg_ITK_DEPENDS ${_SHMOAREG_MODULE_DEPENDS} ${_SHMOAREG_MODULE_PRIVATE_DEPENDS}
    ${_SHMOAREG_MODULE_COMPILE_DEPENDS})
  set(SHMoAReg_ITK_TEST_DEPENDS ${_SHMOAREG_MODULE_TEST_DEPENDS})
  # The name ITK's module macros give the private list (src/cli links it).
  set(ITK_MODULE_SHMoAReg_PRIVATE_DEPENDS ${_SHMOAREG_MODULE_PRIVATE_DEPENDS})
endmacro()
include(${CMAKE_CURRENT_SOURCE_DIR}/itk-module.cmake)

set(_shmoareg_itk_components ${SHMoAReg_ITK_DEPENDS})
if(BUILD_TESTING)
  list(APPEND _shmoareg_itk_components ${SHMoAReg_ITK_TEST_DEPENDS})
endif()

list(REMOVE_DUPLICATES _shmoareg_itk_components)
find_package(ITK 5.2 REQUIRED COMPONENTS ${_shmoareg_itk_components})
include(${ITK_USE_FILE})

# Debian's ITK was configured with GCC alone: its itk_compiler_detection.h stops every other
# compiler with "Unsupported compiler". The clang builds (sanitisers, libFuzzer) force-include a
# copy in which clang, a C++17 compiler with every feature that header asks about, gets them
# all; the copy keeps the header's include guard, so ITK's own is then skipped.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  find_file(SHMOAREG_ITK_COMPILER_DETECTION itk_compiler_detection.h PATHS ${ITK_INCLUDE_DIRS} NO_DEFAULT_PATH)
  file(READ "${SHMOAREG_ITK_COMPILER_DETECTION}" _detection)
  get_filename_component(_detection_dir "${SHMOAREG_ITK_COMPILER_DETECTION}" DIRECTORY)
  if(_detection MATCHES "error Unsupported compiler" AND NOT EXISTS "${_detection_dir}/compilers/ITK_COMPILER_INFO_Clang_CXX.h")
    file(READ "${_detection_dir}/compilers/ITK_COMPILER_INFO_GNU_CXX.h" _gnu_features)
    string(REGEX MATCHALL "define ITK_COMPILER_CXX_[A-Z_]+" _features "${_gnu_features}")
    list(REMOVE_DUPLICATES _features)
    set(_clang_features "")
    foreach(_feature IN LISTS _features)
      string(APPEND _clang_features "#    ${_feature} 1\n")
    endforeach()
    string(REPLACE "#    error Unsupported compiler" "${_clang_features}" _detection "${_detection}")
    file(WRITE "${CMAKE_BINARY_DIR}/itk_compiler_detection_clang.h" "${_detection}")
    add_compile_options("SHELL:-include ${CMAKE_BINARY_DIR}/itk_compiler_detection_clang.h")
  endif()
endif()

# The names that the module path provides.
set(SHMoAReg_LIBRARIES SHMoAReg)
set(SHMoAReg-Test_LIBRARIES SHMoAReg ${ITK_LIBRARIES})
enable_testing()
add_subdirectory(src)
if(BUILD_TESTING)
  add_subdirectory(test)
endif()
if(SHMOAREG_FUZZ)
  add_subdirectory(test/fuzz)
endif()
add_subdirectory(examples)
