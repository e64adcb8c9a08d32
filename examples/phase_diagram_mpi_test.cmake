# CTest driver: the quick phase diagram under `mpirun -np 2` must give the same combined table as
# the local run (LOCAL, made by example_phase_diagram_quick), and a rerun must skip every point.
foreach(v MPIEXEC EXE LOCAL OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "phase_diagram_mpi_test.cmake needs -D${v}=...")
  endif()
endforeach()

set(launcher ${MPIEXEC} -np 2 --oversubscribe)
execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
if(uid STREQUAL "0")
  list(APPEND launcher --allow-run-as-root)  # Open MPI refuses root without it
endif()

file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${launcher} ${EXE} --quick --no-plot --out ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpirun -np 2 phase_diagram --quick failed with ${rc}")
endif()
if(NOT out MATCHES "\\(rank 1\\)")
  message(FATAL_ERROR "no point was run by rank 1: the sweep did not use MPI")
endif()

file(READ ${LOCAL}/results.csv local_csv)
file(READ ${OUT}/results.csv mpi_csv)
if(NOT local_csv STREQUAL mpi_csv)
  message(FATAL_ERROR "results.csv differs between the local and the MPI run:\n--- local\n${local_csv}--- mpi\n${mpi_csv}")
endif()

execute_process(COMMAND ${launcher} ${EXE} --quick --no-plot --out ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "4 already finished, 0 run now")
  message(FATAL_ERROR "the MPI rerun did not skip the four finished points")
endif()
file(READ ${OUT}/results.csv rerun_csv)
if(NOT rerun_csv STREQUAL mpi_csv)
  message(FATAL_ERROR "results.csv changed on a rerun that ran nothing")
endif()
message("MPI table equals the local table; rerun skipped every point")
