# Fails if any Catch2 test name contains a character CTest cannot carry.
string(REPLACE "|" ";" BINARIES "${BINARIES}")
foreach(bin IN LISTS BINARIES)
  execute_process(COMMAND ${bin} --list-test-names-only
    OUTPUT_VARIABLE names RESULT_VARIABLE rc)
  string(REPLACE "\n" "|" lines "${names}")
  if(lines MATCHES "[;]")
    message(SEND_ERROR "${bin}: a test name contains ';' (CTest would never run it):\n${names}")
  endif()
endforeach()
