#!/usr/bin/env bash
# tests/install/run.sh BUILD_DIR SOURCE_DIR
# Installs the build into a scratch prefix (cmake --install), builds the
# separate project tests/install/consumer against it with find_package(ptl)
# (a JIT host, and a C host of a model the installed ptlc compiled ahead of
# time), runs both from another directory, then runs the installed ptlc on
# a script that imports the installed standard library.
set -euo pipefail
build=$1 src=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >"$scratch/install.log"
test -f "$scratch/prefix/include/ptl/ptl.hpp" && test -f "$scratch/prefix/lib/cmake/ptl/ptlConfig.cmake"
test -f "$scratch/prefix/share/ptl/stdlib/std/nn.ptl"
cmake -S "$src/tests/install/consumer" -B "$scratch/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_EXE_LINKER_FLAGS="${PTL_TEST_LDFLAGS:-}" \
      >"$scratch/configure.log"
cmake --build "$scratch/consumer" >"$scratch/build.log" || { cat "$scratch/build.log"; exit 1; }
# The source tree's stdlib must not be what it finds: hide it behind a
# stdlib-less environment by running from elsewhere with PTL_STDLIB unset.
(cd "$scratch" && env -u PTL_STDLIB "$scratch/consumer/consumer")
(cd "$scratch" && "$scratch/consumer/aot_consumer")
# The AOT host needs no LLVM and no ANTLR at run time.
if ldd "$scratch/consumer/aot_consumer" | grep -Ei "llvm|antlr|libptl\.so"; then
  echo "FAIL: aot_consumer links the compiler"; exit 1
fi
printf 'import "std/nn"\nprint(relu(-2.0), mse(ones[1, 2], zeros[1, 2]))\n' >"$scratch/s.ptl"
out=$(cd "$scratch" && env -u PTL_STDLIB "$scratch/prefix/bin/ptlc" run s.ptl)
[[ "$out" == "0 1" || "$out" == "0. 1." || "$out" == "0.0 1.0" ]] || { echo "installed ptlc printed '$out'"; exit 1; }
echo "PASS"
