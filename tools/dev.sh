#!/usr/bin/env bash
# tools/dev.sh - set-up, build, demo and tests in one place.
#
#   bash tools/dev.sh demo    install what is missing, build, run the demo
#   bash tools/dev.sh test    install what is missing, build, run every test
#                             (normal build, then AddressSanitizer + UBSan,
#                             then the stress tests under ThreadSanitizer)
#   bash tools/dev.sh aarch64 only the aarch64 cross build and its tests
#   bash tools/dev.sh deps    only install the Debian packages
#   bash tools/dev.sh build   only configure and build (build/)
#
# Works on a fresh Debian 12 as root (or with sudo). Package installation is
# idempotent: apt-get runs only when a package is missing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

packages=(
  build-essential cmake pkg-config git ca-certificates python3 clang cppcheck
  libsqlite3-dev sqlite3 libcjson-dev libcurl4-openssl-dev libsodium-dev libmicrohttpd-dev
  default-jdk-headless
)

deps() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The aarch64 cross toolchain, user-mode QEMU and the arm64 (multiarch)
# -dev packages of the dependencies, for the cross build below.
cross_packages=(
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  libsqlite3-dev:arm64 libcjson-dev:arm64 libcurl4-openssl-dev:arm64
  libsodium-dev:arm64 libmicrohttpd-dev:arm64
)

cross_deps() {
  local missing=() p sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  for p in "${cross_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Cross build for aarch64 Linux (cmake/toolchain-aarch64-linux-gnu.cmake),
# tests run under qemu-aarch64. qemu-user 7.2 hangs in fork() and in
# pthread_create() on this kernel, so the test programs that fork or start
# threads (the kill -9 tests, test_core_checkpoint, and the ones
# that start walkbook-server themselves) are left out, as are the Java tests
# (a host JVM cannot load the arm64 library) and test_cli_crypt (it runs the
# CLI directly, not through the emulator), and so is the CLI
# test (5-10 min emulated; run it by hand with `ctest -R test_cli` in
# build-aarch64: it syncs over HTTP with a native walkbook-server).
aarch64() {
  cross_deps
  build build-aarch64 -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64-linux-gnu.cmake" \
    -DWB_TEST_HOST_SERVER="$root/build/tools/walkbook-server/walkbook-server"
  (cd "$root/build-aarch64" &&
    ctest --output-on-failure -j"$jobs" --timeout 900 \
      -E '^(test_core_durability|test_core_checkpoint|test_core_crypto|test_server_(http|faults|walklist|run)|test_sync_(integration|integration_encrypted|converge|settle|signatures|signatures_encrypted)|test_stress_threads|test_cli|test_cli_crypt|test_cli_token|test_cli_walk|test_jni_.*)$')
}

# build DIR [cmake options…]
build() {
  local dir=$1
  shift
  cmake -S "$root" -B "$root/$dir" -DWB_WERROR=ON "$@" >/dev/null
  cmake --build "$root/$dir" -j"$jobs"
}

run_tests() {
  local dir=$1
  (cd "$root/$dir" && ctest --output-on-failure -j"$jobs" --timeout 900)
}

# ThreadSanitizer build of the library, walkbook-server and the stress tests
# only (tests/stress: threads on their own handles to one file while a sync
# runs), to keep CI short; any race report fails the run.
tsan() {
  cmake -S "$root" -B "$root/build-tsan" -DWB_WERROR=ON -DWB_SANITIZE_THREAD=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build-tsan" -j"$jobs" --target test_stress_threads
  (cd "$root/build-tsan" &&
    TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
      ctest --output-on-failure -L stress --timeout 600)
}

cmd=${1:-help}
case "$cmd" in
  deps) deps ;;
  aarch64) deps; build build >/dev/null; aarch64 ;;
  build) deps; build build ;;
  demo)
    deps
    build build >/dev/null
    bash "$root/tools/demo.sh" "$root/build"
    ;;
  test)
    deps
    echo "== build (warnings are errors)"
    build build
    echo "== tests"
    run_tests build
    echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan -DWB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    echo "== tests under sanitizers"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_tests build-asan
    echo "== ThreadSanitizer: the stress tests alone (build-tsan)"
    tsan
    echo "== aarch64 cross build, tests under qemu-aarch64 (build-aarch64)"
    aarch64
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 1
    ;;
esac
