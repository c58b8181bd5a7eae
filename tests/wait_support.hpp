// Waiting in tests without sleeping: poll a condition until it holds, within
// a generous bound.
#pragma once

#include <chrono>
#include <thread>

namespace troupe::test {

/// How long a test waits for something that normally takes milliseconds.
constexpr auto patience = std::chrono::seconds{10};

/// Whether `condition` came to hold within `patience` (polled, yielding).
template<class F>
bool eventually(F condition) {
  auto until = std::chrono::steady_clock::now() + patience;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

} // namespace troupe::test
