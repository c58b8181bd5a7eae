// Hand-written msgpack for decoder tests: hostile inputs are easiest to state
// byte by byte.
#pragma once

#include <initializer_list>
#include <string>

namespace troupe::test {

/// The bytes given as integers 0..255.
inline std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out += static_cast<char>(b);
  return out;
}

/// `n` nested one-element arrays around a nil.
inline std::string nested_arrays(int n) {
  return std::string(static_cast<std::size_t>(n), '\x91') + '\xc0';
}

} // namespace troupe::test
