# Android NDK toolchain for the on-device runtime, for users who have the
# NDK (it is not needed: the static aarch64-linux-gnu build of
# aarch64-linux-gnu.cmake already runs on Android through `adb shell`).
# A bionic build is smaller and uses Android's own libc:
#
#   cmake -S . -B build-android -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/android-ndk.cmake \
#     -DANDROID_NDK=$HOME/Android/Sdk/ndk/27.0.12077973 \
#     -DEDGEBENCH_RUNTIME_ONLY=ON -DEDGEBENCH_BUILD_TESTS=OFF \
#     -DEDGEBENCH_BUILD_BENCHMARKS=OFF
#   cmake --build build-android --target edgebench-rt
#
# ANDROID_ABI defaults to arm64-v8a and ANDROID_PLATFORM to android-28
# (Android 9); pass others with -D. The NDK's own toolchain file does the
# work; this one only fills in defaults and links the runtime statically.
if(NOT ANDROID_NDK)
  if(DEFINED ENV{ANDROID_NDK_HOME})
    set(ANDROID_NDK $ENV{ANDROID_NDK_HOME})
  elseif(DEFINED ENV{ANDROID_NDK_ROOT})
    set(ANDROID_NDK $ENV{ANDROID_NDK_ROOT})
  endif()
endif()
if(NOT ANDROID_NDK OR NOT EXISTS "${ANDROID_NDK}/build/cmake/android.toolchain.cmake")
  message(FATAL_ERROR "android-ndk.cmake: set -DANDROID_NDK=/path/to/ndk (or "
          "ANDROID_NDK_HOME); found no build/cmake/android.toolchain.cmake there")
endif()
if(NOT ANDROID_ABI)
  set(ANDROID_ABI arm64-v8a)
endif()
if(NOT ANDROID_PLATFORM)
  set(ANDROID_PLATFORM android-28)
endif()
set(ANDROID_STL c++_static)
include("${ANDROID_NDK}/build/cmake/android.toolchain.cmake")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
