#!/bin/sh
# Install the build into a scratch prefix, then build a small consumer twice:
# with find_package(walkbook) and with pkg-config, and run both.
set -eu
build=$1
consumer=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; echo "0 passed, 1 failed"; exit 1; }
if cmake -S "$consumer" -B "$tmp/c" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/c.log" 2>&1 &&
   cmake --build "$tmp/c" >>"$tmp/c.log" 2>&1 &&
   LD_LIBRARY_PATH="$tmp/prefix/lib:${LD_LIBRARY_PATH:-}" "$tmp/c/consumer" "$tmp/store.db"; then
  pass=$((pass + 1))
else
  cat "$tmp/c.log"; echo "FAIL: find_package consumer"; fail=$((fail + 1))
fi
pcdir=$(dirname "$(find "$tmp/prefix" -name walkbook.pc | head -n 1)")
if PKG_CONFIG_PATH="$pcdir" cc -o "$tmp/pc" "$consumer/consumer.c" $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs walkbook) >"$tmp/pc.log" 2>&1 &&
   LD_LIBRARY_PATH="$tmp/prefix/lib:${LD_LIBRARY_PATH:-}" "$tmp/pc" "$tmp/store2.db"; then
  pass=$((pass + 1))
else
  cat "$tmp/pc.log"; echo "FAIL: pkg-config consumer"; fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
