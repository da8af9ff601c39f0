# Runs doorc on the golden schemas and compares its output with golden/expected/ byte for byte.
#
#   cmake -DDOORC=<doorc> -DGOLDEN_DIR=<tests/unit/codegen/golden> -DWORK_DIR=<scratch dir>
#         -P check_golden.cmake
#
# With DOORS_UPDATE_GOLDEN=1 in the environment it replaces golden/expected/ with the output
# instead (and passes): review the diff and commit it with the change to doorc.
foreach(var DOORC GOLDEN_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_golden.cmake: -D${var}=... is required")
  endif()
endforeach()

set(expected_dir "${GOLDEN_DIR}/expected")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# Relative paths from the golden directory, so that the output names no machine's paths.
# include/ is the import dir of absolute imports; --src-prefix puts its files' output at
# shapes/... as `capnp compile --src-prefix=include` would.
file(GLOB schemas RELATIVE "${GOLDEN_DIR}" "${GOLDEN_DIR}/*.capnp")
file(GLOB_RECURSE imported RELATIVE "${GOLDEN_DIR}" "${GOLDEN_DIR}/include/*.capnp")
list(SORT schemas)
list(SORT imported)
execute_process(
  COMMAND "${DOORC}" -I include --src-prefix=include -o "${WORK_DIR}" ${schemas} ${imported}
  WORKING_DIRECTORY "${GOLDEN_DIR}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "doorc failed (${rc}):\n${out}${err}")
endif()

file(GLOB_RECURSE actual_files RELATIVE "${WORK_DIR}" "${WORK_DIR}/*")
file(GLOB_RECURSE expected_files RELATIVE "${expected_dir}" "${expected_dir}/*")
list(SORT actual_files)
list(SORT expected_files)

if("$ENV{DOORS_UPDATE_GOLDEN}" STREQUAL "1")
  file(REMOVE_RECURSE "${expected_dir}")
  foreach(f IN LISTS actual_files)
    get_filename_component(dir "${expected_dir}/${f}" DIRECTORY)
    file(MAKE_DIRECTORY "${dir}")
    file(COPY_FILE "${WORK_DIR}/${f}" "${expected_dir}/${f}")
  endforeach()
  list(LENGTH actual_files n)
  message(STATUS "DOORS_UPDATE_GOLDEN=1: wrote ${n} files to ${expected_dir}")
  return()
endif()

find_program(DIFF diff)
set(failures "")
foreach(f IN LISTS actual_files)
  if(NOT EXISTS "${expected_dir}/${f}")
    list(APPEND failures "${f}: generated but not in golden/expected/")
    continue()
  endif()
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${expected_dir}/${f}"
                          "${WORK_DIR}/${f}"
                  RESULT_VARIABLE different)
  if(different)
    list(APPEND failures "${f}: differs from golden/expected/${f}")
    if(DIFF)
      execute_process(COMMAND "${DIFF}" -u "${expected_dir}/${f}" "${WORK_DIR}/${f}"
                      OUTPUT_VARIABLE diff_text)
      message("${diff_text}")
    endif()
  endif()
endforeach()
foreach(f IN LISTS expected_files)
  if(NOT EXISTS "${WORK_DIR}/${f}")
    list(APPEND failures "${f}: in golden/expected/ but not generated")
  endif()
endforeach()

if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "golden files differ:\n  ${text}\n"
                      "If the change is intended: DOORS_UPDATE_GOLDEN=1 ctest -R codegen_golden, "
                      "then review and commit tests/unit/codegen/golden/expected/.")
endif()
list(LENGTH actual_files n)
message(STATUS "${n} generated files match golden/expected/")
