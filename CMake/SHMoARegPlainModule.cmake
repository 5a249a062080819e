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

# The names that the module path provides.
set(SHMoAReg_LIBRARIES SHMoAReg)
set(SHMoAReg-Test_LIBRARIES SHMoAReg ${ITK_LIBRARIES})
enable_testing()
add_subdirectory(src)
if(BUILD_TESTING)
  add_subdirectory(test)
endif()
add_subdirectory(examples)
