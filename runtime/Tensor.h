//===- runtime/Tensor.h - Dense host tensors ---------------------------------===//
//
// The tensor type is part of the public embedding API, so it is declared in
// runtime/include/ptl/tensor.hpp; this header is how the rest of the tree
// includes it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ptl/tensor.hpp"
