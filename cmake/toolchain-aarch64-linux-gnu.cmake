# Cross-compile walkbook for 64-bit ARM Linux with Debian's cross toolchain
# (gcc-aarch64-linux-gnu) against the arm64 multiarch -dev packages
# (libsqlite3-dev:arm64 …, in /usr/lib/aarch64-linux-gnu). tools/dev.sh
# installs both and runs the tests under qemu-aarch64:
#
#   cmake -S . -B build-aarch64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
#   cmake --build build-aarch64 && (cd build-aarch64 && ctest)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(WB_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${WB_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${WB_CROSS_TRIPLE}-g++)

# Libraries and headers of the target come from the multiarch directories
# and the cross C library; programs (cmake, sh, the host compiler) from the
# host.
set(CMAKE_LIBRARY_ARCHITECTURE ${WB_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH /usr/${WB_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config must read the arm64 .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${WB_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and add_custom_command) run target programs through user-mode QEMU.
find_program(WB_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(WB_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WB_QEMU_AARCH64} -L /usr/${WB_CROSS_TRIPLE})
endif()
