#!/bin/sh
# Builds and runs the tests inside the workspace.
set -e
cc -o build_test src/calc.c tests/test_calc.c
./build_test
