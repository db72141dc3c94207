// Helpers for ordering vector tables: ladders (every pair checked both ways)
// and single comparisons.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace portcullis::scanner::versions::test {

using Compare = int (*)(std::string_view, std::string_view);

// Rungs in ascending order; the versions on one rung are equal to each other.
using Ladder = std::vector<std::vector<std::string_view>>;

inline int sign(int v) { return (v > 0) - (v < 0); }

// Checks a ? b and b ? a for every pair of versions of the ladder, and that
// every version equals itself.
inline void expect_ladder(Compare cmp, const Ladder& ladder) {
  for (std::size_t i = 0; i < ladder.size(); ++i) {
    for (std::size_t j = i; j < ladder.size(); ++j) {
      int want = i == j ? 0 : -1;
      for (std::string_view a : ladder[i]) {
        for (std::string_view b : ladder[j]) {
          EXPECT_EQ(sign(cmp(a, b)), want) << '"' << a << "\" vs \"" << b << '"';
          EXPECT_EQ(sign(cmp(b, a)), -want) << '"' << b << "\" vs \"" << a << '"';
        }
      }
    }
  }
}

struct Vector {
  std::string_view a;
  std::string_view op;  // "<", "=" or ">"
  std::string_view b;
};

// Checks each vector both ways.
inline void expect_vectors(Compare cmp, const std::vector<Vector>& vectors) {
  for (const Vector& v : vectors) {
    EXPECT_TRUE(v.op == "<" || v.op == "=" || v.op == ">") << v.op;
    int want = v.op == "<" ? -1 : (v.op == ">" ? 1 : 0);
    EXPECT_EQ(sign(cmp(v.a, v.b)), want) << '"' << v.a << "\" " << v.op << " \"" << v.b << '"';
    EXPECT_EQ(sign(cmp(v.b, v.a)), -want) << '"' << v.b << "\" vs \"" << v.a << '"';
  }
}

}  // namespace portcullis::scanner::versions::test
