#!/bin/sh
# Run one Java test program on the JVM with -Xcheck:jni, and fail when the
# JVM reports any JNI misuse (its checks print warnings and go on).
#   run_java_test.sh JAVA CLASSPATH LIBDIR CLASS [java options...] -- [args...]
set -u
java=$1 cp=$2 libdir=$3 class=$4
shift 4
opts=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts="$opts $1"; shift; done
[ $# -gt 0 ] && shift
# Sanitized build: the runtimes go first into the uninstrumented JVM (see
# tests/jni/CMakeLists.txt); later ASAN_OPTIONS entries win.
if [ -n "${WBJ_PRELOAD:-}" ]; then
  LD_PRELOAD=$WBJ_PRELOAD
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:handle_segv=0:allow_user_segv_handler=1"
  export LD_PRELOAD ASAN_OPTIONS
fi
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
# shellcheck disable=SC2086
"$java" -Xcheck:jni -Djava.library.path="$libdir" -cp "$cp" $opts "$class" "$@" >"$out" 2>"$err"
rc=$?
cat "$out"
cat "$err" >&2
if grep -q -e "WARNING in native method" -e "JNI local refs" -e "FATAL ERROR in native method" \
  "$out" "$err"; then
  echo "JNI warnings from -Xcheck:jni (see above)" >&2
  [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
