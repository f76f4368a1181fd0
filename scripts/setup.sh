#!/usr/bin/env bash
# Installs PTL's dependencies from Debian's packages (idempotent; run as root).
#   bash scripts/setup.sh           what building and running PTL needs
#   bash scripts/setup.sh --tests   that, plus what the test suite's independent
#                                   references and the benchmarks use
set -euo pipefail
PKGS=(antlr4 libantlr4-runtime-dev catch2 llvm-19-dev llvm-19-tools libzstd-dev uuid-dev
      cmake ninja-build g++ lld libcli11-dev libfmt-dev nlohmann-json3-dev
      libedit-dev   # the REPL's line editing and history (BSD licence)
      libopenblas0) # large matrix products (runtime/Gemm.h loads it; without it PTL's own loop runs)
TEST_PKGS=(python3 python3-numpy  # tests/reference: NumPy reference outputs of the examples
           python3-torch          # tests/gradcheck: PyTorch reference gradients (~30 s to
                                  # install, ~610 MB on disk; those tests SKIP without it)
           libopenblas-dev        # bench/: the C++ + BLAS floor links it, and it makes
                                  # libblas.so.3 OpenBLAS (else python3-torch runs on the
                                  # reference BLAS, ~20x slower; bench/README.md)
           libtorch-dev)          # bench/: host_call's LibTorch C++ baseline (skipped without it)
case "${1:-}" in
  --tests) PKGS+=("${TEST_PKGS[@]}") ;;
  "") ;;
  *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
