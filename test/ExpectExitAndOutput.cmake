# Runs COMMAND with ARGS and passes when it exits with EXPECTED_CODE and its output (stdout and
# stderr) contains EXPECTED_TEXT (plain text) or matches EXPECTED_REGEX: both, where ctest's
# PASS_REGULAR_EXPRESSION would ignore the exit code. Usage errors (code 2) of the command line,
# the presets list and the examples' printed measures (code 0).
execute_process(COMMAND ${COMMAND} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL EXPECTED_CODE)
  message(FATAL_ERROR "exit code ${code}, expected ${EXPECTED_CODE}\n${out}${err}")
endif()
if(DEFINED EXPECTED_REGEX)
  if(NOT "${out}${err}" MATCHES "${EXPECTED_REGEX}")
    message(FATAL_ERROR "output does not match '${EXPECTED_REGEX}':\n${out}${err}")
  endif()
else()
  string(FIND "${out}${err}" "${EXPECTED_TEXT}" position)
  if(position EQUAL -1)
    message(FATAL_ERROR "output lacks '${EXPECTED_TEXT}':\n${out}${err}")
  endif()
endif()
message(STATUS "exit code ${code} with: ${err}")
