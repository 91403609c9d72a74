# agenttrace_add_test(NAME name SOURCES a.cc ... LIBS lib ... [LABELS l ...])
# Builds a GoogleTest binary and registers each of its tests with CTest.
function(agenttrace_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  gtest_discover_tests(${T_NAME}
    DISCOVERY_TIMEOUT 60
    # Recordings made by tests create their fingerprint key here, not in the user's own config.
    # (LABELS last: an empty label list would otherwise take the next keyword as its value.)
    PROPERTIES TIMEOUT ${T_TIMEOUT} ENVIRONMENT "XDG_CONFIG_HOME=${PROJECT_BINARY_DIR}/test-config"
      LABELS "${T_LABELS}"
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endfunction()
