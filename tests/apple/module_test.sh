#!/bin/sh
# The walkbook clang module (platform/apple/module.modulemap.in): an
# Objective-C client that says `@import walkbook;` compiles with clang
# -fmodules and every warning an error, links the shared library and runs;
# the module carries the header's nullability (passing NULL where it is
# non-null is diagnosed) and its enum and flag-enum attributes.
#   module_test.sh CLANG MODULE_DIR LIBRARY_FILE CLIENT_SOURCE
set -eu
cc=$1
moddir=$2
lib=$3
src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; cat "$tmp/out"; }
flags="-x objective-c -fmodules -fmodules-cache-path=$tmp/cache -Wall -Wextra -Werror
  -Wnullability-completeness -I$moddir"

# shellcheck disable=SC2086
if $cc $flags -o "$tmp/client" "$src" -x none "$lib" -Wl,-rpath,"$(dirname "$lib")" >"$tmp/out" 2>&1 &&
   "$tmp/client" "$tmp/store.db" >"$tmp/out" 2>&1; then
  ok test_apple_module__client
  sed 's/^/  /' "$tmp/out"
else
  ko test_apple_module__client
fi

# Nullability reaches the importer: NULL for a non-null parameter is an error.
printf '@import walkbook;\nint main(void) { return wb_store_open(NULL, "x", NULL); }\n' >"$tmp/null.m"
# shellcheck disable=SC2086
if $cc $flags -Werror=nonnull -fsyntax-only "$tmp/null.m" >"$tmp/out" 2>&1; then
  ko test_apple_module__nonnull_diagnosed
elif grep -q "null passed to a callee that requires a non-null" "$tmp/out"; then
  ok test_apple_module__nonnull_diagnosed
else
  ko test_apple_module__nonnull_diagnosed
fi

# What Swift's importer needs from the header the module map names: every
# enum open (enum_extensibility) with a fixed type, the state bits a flag
# enum, no variadic function and no bit-field in the API.
header=$(sed -n 's/^ *header "\(.*\)".*/\1/p' "$moddir/module.modulemap")
printf '#include "%s"\n' "$header" >"$tmp/ast.m"
if $cc -x objective-c -fsyntax-only -Xclang -ast-dump "$tmp/ast.m" >"$tmp/ast" 2>"$tmp/out"; then
  if awk '
    /EnumDecl .* wb_[a-z_]+ .int.$/ { n++; name = $(NF - 1); enum = 1; next }
    enum && /EnumExtensibilityAttr.*Open/ { open++ }
    enum && /FlagEnumAttr/ { flags = flags " " name }
    /-EnumConstantDecl/ { enum = 0 }
    /FunctionDecl .* wb_[a-z_]+ .*\.\.\.\)/ { print "variadic:", $0; bad++ }
    /FieldDecl/ { field = 1; prev = $0; next }
    field && /(ConstantExpr|IntegerLiteral)/ { print "bit-field:", prev; bad++ }
    { field = 0; prev = $0 }
    END {
      printf "enums %d, open %d, flag enums:%s\n", n, open, flags
      exit !(n > 0 && n == open && flags ~ /wb_sync_state/ && bad == 0)
    }' "$tmp/ast" >"$tmp/out" 2>&1; then
    ok test_apple_module__swift_import_shape
    sed 's/^/  /' "$tmp/out"
  else
    ko test_apple_module__swift_import_shape
  fi
else
  ko test_apple_module__swift_import_shape
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
