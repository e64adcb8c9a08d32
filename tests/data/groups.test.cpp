#include <grokscope/data/groups.hpp>

#include <doctest/doctest.h>

#include <set>

using namespace grokscope;

TEST_CASE("S5 has 14 400 pairs; its Cayley table is a Latin square with an identity") {
  const Dataset ds = permutation_dataset(5, PermOp::Compose);
  CHECK(ds.size() == 14400);
  CHECK(ds.num_classes == 120);
  CHECK(ds.vocab_size == 121);
  const Index m = 120;
  for (Index x = 0; x < m; ++x) {
    std::set<Index> row;
    for (Index y = 0; y < m; ++y) row.insert(ds.labels[static_cast<std::size_t>(x * m + y)]);
    CHECK(row.size() == 120);
  }
  for (Index y = 0; y < m; ++y) CHECK(ds.labels[static_cast<std::size_t>(y)] == y);  // element 0 is the identity
  // associativity on a sample: (x y) z = x (y z)
  auto mul = [&](Index a, Index b) { return ds.labels[static_cast<std::size_t>(a * m + b)]; };
  for (Index a = 0; a < m; a += 7)
    for (Index b = 0; b < m; b += 11)
      for (Index c = 0; c < m; c += 13) CHECK(mul(mul(a, b), c) == mul(a, mul(b, c)));
}

TEST_CASE("the reference convention: s5 is c = b[a]") {
  const auto perms = permutations(3);
  CHECK(perms.size() == 6);
  CHECK(perms[1] == IndexList{0, 2, 1});  // lexicographic, as itertools.permutations
  const IndexList a{1, 2, 0}, b{0, 2, 1};
  CHECK(perm_then(a, b) == IndexList{2, 1, 0});  // b[a] = [b[1], b[2], b[0]]
  CHECK(perm_then(a, perm_inverse(a)) == IndexList{0, 1, 2});
}

TEST_CASE("conjugation preserves cycle type; xyx has the right table") {
  const Dataset conj = permutation_dataset(4, PermOp::Conjugate);
  const auto perms = permutations(4);
  auto fixed_points = [](const IndexList& p) {
    Index f = 0;
    for (std::size_t i = 0; i < p.size(); ++i) f += p[i] == static_cast<Index>(i);
    return f;
  };
  for (Index r = 0; r < conj.size(); ++r) {
    const IndexList& y = perms[static_cast<std::size_t>(conj.tokens(r, 1))];
    CHECK(fixed_points(perms[static_cast<std::size_t>(conj.labels[static_cast<std::size_t>(r)])]) == fixed_points(y));
  }
  const Dataset xyx = permutation_dataset(4, PermOp::XYX);
  for (Index r = 0; r < xyx.size(); r += 5) {
    const IndexList& x = perms[static_cast<std::size_t>(xyx.tokens(r, 0))];
    const IndexList& y = perms[static_cast<std::size_t>(xyx.tokens(r, 1))];
    CHECK(perms[static_cast<std::size_t>(xyx.labels[static_cast<std::size_t>(r)])] == perm_then(perm_then(x, y), x));
  }
}

TEST_CASE("dihedral group: order 2n, r^n = e, s^2 = e, s r s = r^-1, associativity") {
  const Index n = 6;
  const Dataset ds = dihedral_dataset(n);
  CHECK(ds.size() == 144);
  const Index r = 1, s = n;  // r = rotation by one, s = reflection
  Index acc = 0;
  for (int i = 0; i < n; ++i) acc = dihedral_compose(acc, r, n);
  CHECK(acc == 0);
  CHECK(dihedral_compose(s, s, n) == 0);
  CHECK(dihedral_compose(dihedral_compose(s, r, n), s, n) == n - 1);  // r^-1 = r^(n-1)
  for (Index a = 0; a < 2 * n; ++a)
    for (Index b = 0; b < 2 * n; ++b)
      for (Index c = 0; c < 2 * n; ++c)
        CHECK(dihedral_compose(dihedral_compose(a, b, n), c, n) == dihedral_compose(a, dihedral_compose(b, c, n), n));
}

TEST_CASE("group datasets reject bad sizes") {
  CHECK_THROWS_WITH_AS(permutation_dataset(7), "grokscope::permutation_dataset: n must be in [2, 6], got 7",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(dihedral_dataset(2), "grokscope::dihedral_dataset: n must be in [3, 1000], got 2",
                       std::invalid_argument);
  CHECK_THROWS_AS(permutations(0), std::invalid_argument);
}
