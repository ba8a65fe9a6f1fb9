// The benchmarks' generator: splitmix64, small, fast and the same on every
// machine, so a generated tree or tag set is the same in every run.
#ifndef TESTS_BENCH_BENCH_RNG_H_
#define TESTS_BENCH_BENCH_RNG_H_

#include <cstdint>

namespace ia::bench {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Skewed towards small values: most are small, a few are large.
  uint64_t Skewed(uint64_t n) { return Below(Below(n) + 1); }

 private:
  uint64_t state_;
};

}  // namespace ia::bench

#endif  // TESTS_BENCH_BENCH_RNG_H_
