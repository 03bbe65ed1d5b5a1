#!/bin/sh
# Only wb_* symbols are exported by the shared library, and every function
# the header declares is exported.
set -eu
lib=$1
header=$2
fail=0
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^wb_' || true)
if [ -n "$bad" ]; then
  echo "exported symbols outside wb_*:"; echo "$bad"; fail=$((fail + 1))
fi
internal=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep '__' || true)
if [ -n "$internal" ]; then
  echo "internal wb_<module>__ symbols exported:"; echo "$internal"; fail=$((fail + 1))
fi
missing=0
for f in $(grep -o 'wb_[a-z0-9_]*(' "$header" | tr -d '(' | sort -u); do
  if ! nm -D --defined-only "$lib" | awk '{print $3}' | grep -qx "$f"; then
    echo "declared but not exported: $f"; missing=$((missing + 1))
  fi
done
[ "$missing" -eq 0 ] || fail=$((fail + 1))
n=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^wb_')
echo "exported wb_ symbols: $n"
echo "$((3 - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
