# Fails if any project C++ file differs from clang-format's output.
file(GLOB_RECURSE files
  ${SOURCE_DIR}/src/*.cpp ${SOURCE_DIR}/src/*.h ${SOURCE_DIR}/include/*.h
  ${SOURCE_DIR}/test/*.cpp ${SOURCE_DIR}/test/*.h ${SOURCE_DIR}/bench/*.cpp)
list(FILTER files EXCLUDE REGEX "/node_modules/")
find_program(CLANG_FORMAT NAMES clang-format-14 clang-format REQUIRED)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${files}
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format: these files need formatting (run clang-format -i):\n${err}")
endif()
