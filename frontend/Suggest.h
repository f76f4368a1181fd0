//===- frontend/Suggest.h - "did you mean" suggestions -----------------------===//
//
// The candidates nearest to a misspelt name, by edit distance, for the
// "did you mean ...?" part of a diagnostic.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

namespace ptl {

/// The Levenshtein distance between `a` and `b` (insertions, deletions and
/// substitutions of one character each cost 1).
size_t editDistance(const std::string &a, const std::string &b);

/// The candidates at the smallest edit distance from `word`, if that
/// distance is at most max(2, |word| / 3); in the candidates' order, without
/// repeats, at most `limit` of them.
std::vector<std::string> nearestCandidates(const std::string &word, const std::vector<std::string> &candidates,
                                           size_t limit = 3);

/// " (did you mean `a` or `b`?)" for the nearest candidates, "" when none is near.
std::string didYouMean(const std::string &word, const std::vector<std::string> &candidates);

} // namespace ptl
