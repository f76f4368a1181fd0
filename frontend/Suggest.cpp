//===- frontend/Suggest.cpp - "did you mean" suggestions ---------------------===//
#include "frontend/Suggest.h"

#include <algorithm>

namespace ptl {

// d[i][j] = distance between a[:i] and b[:j]:
//   d[i][j] = min(d[i-1][j] + 1, d[i][j-1] + 1, d[i-1][j-1] + (a[i-1] != b[j-1])),
// kept one row at a time.
size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> nearestCandidates(const std::string &word, const std::vector<std::string> &candidates,
                                           size_t limit) {
  size_t best = std::max<size_t>(2, word.size() / 3) + 1;
  std::vector<std::string> out;
  for (const std::string &c : candidates) {
    size_t d = editDistance(word, c);
    if (d < best) {
      best = d;
      out.clear();
    }
    if (d == best && std::find(out.begin(), out.end(), c) == out.end() && out.size() < limit) out.push_back(c);
  }
  return out;
}

std::string didYouMean(const std::string &word, const std::vector<std::string> &candidates) {
  std::vector<std::string> near = nearestCandidates(word, candidates);
  if (near.empty()) return "";
  std::string s = " (did you mean ";
  for (size_t i = 0; i < near.size(); ++i)
    s += (i ? (i + 1 == near.size() ? " or " : ", ") : "") + ("`" + near[i] + "`");
  return s + "?)";
}

} // namespace ptl
