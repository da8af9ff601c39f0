# DoorsGenerate.cmake: doors_generate(), the CMake side of doorc.
#
#   doors_generate(TARGET <target>
#                  FILES <schema.capnp>...
#                  [IMPORT_DIRS <dir>...]
#                  [OUTPUT_DIR <dir>]
#                  [SRC_PREFIX <dir>])
#
# For each schema it runs `capnp compile -oc++:<OUTPUT_DIR> --src-prefix=<SRC_PREFIX>` (Cap'n
# Proto's <name>.capnp.h / .capnp.c++) and `doorc -o <OUTPUT_DIR> --src-prefix=<SRC_PREFIX>`
# (<name>.door.h / .door.c++, the typed door client and server base of each interface), adds the
# .capnp.c++ and .door.c++ files to <target>'s sources (PRIVATE), <OUTPUT_DIR> to its include
# directories (PUBLIC: the generated headers include each other by that root), and links it
# (PUBLIC) to Doors::runtime and Cap'n Proto's capnp-rpc, capnp and kj.
#
#   TARGET       an existing target, created in the directory that calls doors_generate()
#                (CMake attaches the generated sources to the directory's custom commands).
#   FILES        schemas, relative to the current source directory or absolute. A schema that
#                imports another (other than door.capnp and Cap'n Proto's own) needs that one
#                generated as well, in this call or another (its .capnp.h is included).
#   IMPORT_DIRS  directories searched for absolute imports (`import "/x/y.capnp"`), for both
#                compilers; the directory holding doors/door.capnp is always added.
#   OUTPUT_DIR   default ${CMAKE_CURRENT_BINARY_DIR}/doors_generated.
#   SRC_PREFIX   default ${CMAKE_CURRENT_SOURCE_DIR}: a schema <SRC_PREFIX>/a/b.capnp gives
#                <OUTPUT_DIR>/a/b.capnp.h, a/b.door.h, ... (included as "a/b.door.h"). Every
#                schema must lie under it.
#
# The commands re-run when a schema of the call, door.capnp, doorc, capnp or capnpc-c++ changes
# (all the call's schemas count for each, since one may import another; a schema imported from
# outside the call, say through IMPORT_DIRS, is not tracked: list it in the same call when it
# changes often). doorc rewrites a file only when its content changes.
#
# Variables read (all optional):
#   DOORS_DOORC_EXECUTABLE   the doorc to run. Default: the in-tree target `doorc` when it
#                            exists, else the imported target Doors::doorc (installed package).
#   DOORS_CAPNP_IMPORT_DIR   the directory holding doors/door.capnp. Default: the build tree's
#                            copy (${Doors_BINARY_DIR}/idl/capnp) in-tree, else <prefix>/include
#                            of the installed package (found from this file's location).
#   CAPNP_EXECUTABLE, CAPNPC_CXX_EXECUTABLE   from Cap'n Proto's CMake package.
#
# Example:
#   find_package(Doors REQUIRED)        # or in-tree: include(cmake/DoorsGenerate.cmake)
#   add_executable(calc_server server.cpp)
#   doors_generate(TARGET calc_server FILES calc.capnp)
#   # server.cpp: #include "calc.door.h"
include_guard(GLOBAL)

if(NOT TARGET CapnProto::capnp)
  find_package(CapnProto REQUIRED)
endif()

# Where this file lives: in an installed package, <prefix>/<libdir>/cmake/Doors.
set(_DOORS_GENERATE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# The directory holding doors/door.capnp (see DOORS_CAPNP_IMPORT_DIR above), in `out`.
function(_doors_capnp_import_dir out)
  if(DOORS_CAPNP_IMPORT_DIR)
    set(dir "${DOORS_CAPNP_IMPORT_DIR}")
  elseif(TARGET doors_idl AND DEFINED Doors_BINARY_DIR)
    set(dir "${Doors_BINARY_DIR}/idl/capnp")
  else()
    # <prefix>/<libdir>/cmake/Doors -> <prefix>/include; a multiarch libdir is one level deeper.
    set(dir "")
    foreach(up "../../.." "../../../..")
      get_filename_component(candidate "${_DOORS_GENERATE_DIR}/${up}/include" ABSOLUTE)
      if(EXISTS "${candidate}/doors/door.capnp")
        set(dir "${candidate}")
        break()
      endif()
    endforeach()
  endif()
  if(NOT dir OR NOT EXISTS "${dir}/doors/door.capnp")
    message(FATAL_ERROR "doors_generate: doors/door.capnp not found (in '${dir}'); set "
                        "DOORS_CAPNP_IMPORT_DIR to the directory that holds doors/door.capnp")
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

function(doors_generate)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "" "TARGET;OUTPUT_DIR;SRC_PREFIX" "FILES;IMPORT_DIRS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "doors_generate: unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_TARGET)
    message(FATAL_ERROR "doors_generate: TARGET is required")
  endif()
  if(NOT TARGET ${ARG_TARGET})
    message(FATAL_ERROR "doors_generate: '${ARG_TARGET}' is not a target (create it first)")
  endif()
  if(NOT ARG_FILES)
    message(FATAL_ERROR "doors_generate(TARGET ${ARG_TARGET}): FILES is required")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/doors_generated")
  endif()
  if(NOT ARG_SRC_PREFIX)
    set(ARG_SRC_PREFIX "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  get_filename_component(out_dir "${ARG_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  get_filename_component(src_prefix "${ARG_SRC_PREFIX}" ABSOLUTE)

  # The generators.
  if(DOORS_DOORC_EXECUTABLE)
    set(doorc "${DOORS_DOORC_EXECUTABLE}")
    set(doorc_depends "${DOORS_DOORC_EXECUTABLE}")
  elseif(TARGET doorc)
    set(doorc "$<TARGET_FILE:doorc>")
    set(doorc_depends doorc "$<TARGET_FILE:doorc>")
  elseif(TARGET Doors::doorc)
    set(doorc "$<TARGET_FILE:Doors::doorc>")
    set(doorc_depends "$<TARGET_FILE:Doors::doorc>")
  else()
    message(FATAL_ERROR "doors_generate: no doorc (neither the target doorc nor Doors::doorc; "
                        "or set DOORS_DOORC_EXECUTABLE)")
  endif()
  if(NOT CAPNP_EXECUTABLE OR NOT CAPNPC_CXX_EXECUTABLE)
    message(FATAL_ERROR "doors_generate: Cap'n Proto's capnp / capnpc-c++ not found "
                        "(CAPNP_EXECUTABLE, CAPNPC_CXX_EXECUTABLE)")
  endif()
  _doors_capnp_import_dir(door_import_dir)

  # Import path: the caller's dirs, then door.capnp's, then Cap'n Proto's own (/capnp/c++.capnp).
  set(import_flags "")
  foreach(dir IN LISTS ARG_IMPORT_DIRS)
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND import_flags "-I${dir}")
  endforeach()
  list(APPEND import_flags "-I${door_import_dir}")
  if(CAPNP_INCLUDE_DIRECTORY)
    list(APPEND import_flags "-I${CAPNP_INCLUDE_DIRECTORY}")
  endif()

  set(schemas "")
  foreach(file IN LISTS ARG_FILES)
    get_filename_component(path "${file}" ABSOLUTE)
    if(NOT EXISTS "${path}")
      message(FATAL_ERROR "doors_generate(TARGET ${ARG_TARGET}): schema '${file}' not found "
                          "('${path}')")
    endif()
    list(APPEND schemas "${path}")
  endforeach()

  # doorc leaves an output whose content did not change alone, so that a rebuilt doorc does not
  # recompile everything. Ninja takes that (restat); other generators would run the command on
  # every build, so there the outputs are touched.
  set(touch "")
  if(NOT CMAKE_GENERATOR MATCHES "Ninja")
    set(touch COMMAND "${CMAKE_COMMAND}" -E touch_nocreate)
  endif()

  set(sources "")
  foreach(path IN LISTS schemas)
    file(RELATIVE_PATH rel "${src_prefix}" "${path}")
    if(rel MATCHES "^\\.\\./" OR IS_ABSOLUTE "${rel}")
      message(FATAL_ERROR "doors_generate(TARGET ${ARG_TARGET}): schema '${path}' is not under "
                          "SRC_PREFIX '${src_prefix}'")
    endif()
    string(REGEX REPLACE "\\.capnp$" "" stem "${rel}")
    set(capnp_out "${out_dir}/${rel}.h" "${out_dir}/${rel}.c++")
    set(door_out "${out_dir}/${stem}.door.h" "${out_dir}/${stem}.door.c++")
    set(touch_outputs "")
    if(touch)
      set(touch_outputs ${touch} ${door_out})
    endif()
    add_custom_command(
      OUTPUT ${capnp_out}
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${out_dir}"
      COMMAND "${CAPNP_EXECUTABLE}" compile "-o${CAPNPC_CXX_EXECUTABLE}:${out_dir}"
              "--src-prefix=${src_prefix}" ${import_flags} "${path}"
      DEPENDS ${schemas} "${door_import_dir}/doors/door.capnp" "${CAPNP_EXECUTABLE}"
              "${CAPNPC_CXX_EXECUTABLE}"
      WORKING_DIRECTORY "${src_prefix}"
      COMMENT "Compiling Cap'n Proto schema ${rel}"
      VERBATIM)
    add_custom_command(
      OUTPUT ${door_out}
      COMMAND "${doorc}" "--output=${out_dir}" "--src-prefix=${src_prefix}" ${import_flags}
              "${path}"
      ${touch_outputs}
      DEPENDS ${schemas} "${door_import_dir}/doors/door.capnp" ${doorc_depends}
      WORKING_DIRECTORY "${src_prefix}"
      COMMENT "Generating door code for ${rel}"
      VERBATIM)
    list(APPEND sources "${out_dir}/${rel}.c++" "${out_dir}/${stem}.door.c++")
  endforeach()

  target_sources(${ARG_TARGET} PRIVATE ${sources})
  target_include_directories(${ARG_TARGET} PUBLIC "$<BUILD_INTERFACE:${out_dir}>")
  target_link_libraries(${ARG_TARGET}
    PUBLIC Doors::runtime CapnProto::capnp-rpc CapnProto::capnp CapnProto::kj)
endfunction()
