// What a worker's metrics read while it runs (DESIGN.md "Shared dicts, timers,
// metrics"): messages in and out and their bytes, time spent running, memory,
// whether it waits. Each meter has one writer, the worker itself (its actor
// runs on one thread at a time), so a count is a relaxed load and store, not a
// locked add; anyone may read them. Time is counted in cycles of the CPU's
// time-stamp counter (a read costs a third of a clock read here, and every
// run of a script pays two) and turned into seconds when read.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#  include <x86intrin.h>
#endif

namespace troupe::lua_vm {

/// A cheap monotonic tick count: the time-stamp counter, else nanoseconds of
/// the steady clock.
inline std::uint64_t cycle_count() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(
    std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

/// Turns cycle counts into seconds, the rate measured against the steady
/// clock since the converter was made (so it needs no calibration pause).
class cycle_rate {
public:
  cycle_rate() noexcept
      : cycles_(cycle_count()), start_(std::chrono::steady_clock::now()) {}
  /// `cycles` in seconds.
  double seconds(std::uint64_t cycles) const noexcept {
    std::chrono::duration<double> passed = std::chrono::steady_clock::now()
                                           - start_;
    std::uint64_t counted = cycle_count() - cycles_;
    if (counted == 0 || passed.count() <= 0) return 0;
    return static_cast<double>(cycles) * passed.count()
           / static_cast<double>(counted);
  }

private:
  std::uint64_t cycles_;
  std::chrono::steady_clock::time_point start_;
};

/// One worker's meters (see the file comment).
struct worker_meters {
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> messages_out{0};
  std::atomic<std::uint64_t> bytes_out{0};
  /// Cycles spent running (cycle_count).
  std::atomic<std::uint64_t> busy{0};
  /// Bytes its Lua state holds, as of its last run.
  std::atomic<std::size_t> memory{0};
  /// Whether it waits for something (a message, a reply, a timer).
  std::atomic<bool> waiting{false};

  /// Adds `n` to `meter` (its one writer only).
  static void add(std::atomic<std::uint64_t>& meter,
                  std::uint64_t n = 1) noexcept {
    meter.store(meter.load(std::memory_order_relaxed) + n,
                std::memory_order_relaxed);
  }
  /// Counts one message of `size` bytes sent. Counted before it is posted,
  /// so whoever receives it also sees it counted.
  void sent(std::size_t size) noexcept {
    add(messages_out);
    add(bytes_out, size);
  }
  /// Takes back sent(size) for a message that was not posted after all.
  void unsent(std::size_t size) noexcept {
    add(messages_out, ~std::uint64_t{0});
    add(bytes_out, 0 - static_cast<std::uint64_t>(size));
  }
};

/// One worker's meters as worker.info reads them.
struct worker_info {
  bool waiting = false;
  std::size_t inbox = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_out = 0;
  double cpu_seconds = 0;
  std::size_t memory = 0;
  std::string script;
  std::vector<std::string> names;
};

} // namespace troupe::lua_vm
