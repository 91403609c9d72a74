#!/usr/bin/env bash
# Edits a source file in place with `sed -i` (which writes a randomly named ./sedXXXXXX next to it and
# renames it over the original), then builds with make and cc and runs the result.
set -euo pipefail
cat >Makefile <<'MK'
app: main.o util.o
	cc -o app main.o util.o
%.o: %.c
	cc -c -o $@ $<
MK
printf '#include <stdio.h>\nint util(void);\nint main(void) { printf("%%d\\n", util()); return 0; }\n' >main.c
printf 'int util(void) { return VALUE; }\n' >util.c
sed -i 's/VALUE/42/' util.c
make -s
./app >out.txt
