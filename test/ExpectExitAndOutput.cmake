# Runs COMMAND with ARGS and passes when it exits with EXPECTED_CODE and its output (stdout and
# stderr) contains EXPECTED_TEXT: both, where ctest's PASS_REGULAR_EXPRESSION would ignore the
# exit code. Usage errors (code 2) of the command line, and the examples' printed measures (code 0).
execute_process(COMMAND ${COMMAND} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL EXPECTED_CODE)
  message(FATAL_ERROR "exit code ${code}, expected ${EXPECTED_CODE}\n${out}${err}")
endif()
string(FIND "${out}${err}" "${EXPECTED_TEXT}" position)
if(position EQUAL -1)
  message(FATAL_ERROR "output lacks '${EXPECTED_TEXT}':\n${out}${err}")
endif()
message(STATUS "exit code ${code} with: ${err}")
