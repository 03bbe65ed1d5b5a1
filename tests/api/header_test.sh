#!/bin/sh
# The public header compiles alone, first in a translation unit, as C11 and
# as C++ with every warning an error, with gcc and clang where present.
set -eu
inc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "walkbook.h"\nint main(void) { return wb_version_number() > 0 ? 0 : 1; }\n' >"$tmp/h.c"
pass=0
fail=0
try() {
  if "$@" >"$tmp/out" 2>&1; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*"; cat "$tmp/out"; fi
}
for cc in gcc clang; do
  command -v $cc >/dev/null 2>&1 || continue
  try $cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$inc" -fsyntax-only "$tmp/h.c"
done
for cxx in g++ clang++; do
  command -v $cxx >/dev/null 2>&1 || continue
  try $cxx -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$inc" -fsyntax-only "$tmp/h.c"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
