// The runtime's one structure for message timers (worker.after,
// worker.every): a binary heap of due times under a mutex, and one thread
// that sleeps until the earliest and then fires every entry that is due, in
// due-time order (arm order among equal times). A pending timer costs an
// entry of the heap and nothing else: no CAF message, no thread wake-up of
// its own. Entries only say whose timer is due; what a timer carries stays
// with its worker, which also decides whether a fired timer still counts
// (cancelled ones are not taken out of the heap). The thread is woken by an
// arm only when it sleeps past the new entry's time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace troupe::detail {

/// Due message timers and the thread that fires them (see the file comment).
class timer_queue {
public:
  using clock = std::chrono::steady_clock;
  /// One timer: when, in which order among equal times, whose, which.
  struct entry {
    clock::time_point due;
    std::uint64_t seq;
    std::uint64_t owner;
    std::uint64_t id;
  };
  /// Fires a batch of due entries, in order (called on the queue's thread,
  /// without its lock; must not throw).
  using fire_fn = std::function<void(std::span<const entry>)>;

  /// A queue that fires through `fire`; its thread starts with the first arm.
  explicit timer_queue(fire_fn fire);
  timer_queue(const timer_queue&) = delete;
  timer_queue& operator=(const timer_queue&) = delete;
  /// Stops (see stop).
  ~timer_queue();

  /// Fires timer `id` of `owner` at or after `due` (a time past is taken as
  /// now, so entries fire in the order of their times). Throws std::bad_alloc
  /// (and std::system_error when the thread cannot start) with nothing armed.
  void arm(clock::time_point due, std::uint64_t owner, std::uint64_t id);
  /// Drops every pending entry of `owner` (its timers ended with it).
  void drop(std::uint64_t owner) noexcept;
  /// Fires nothing more; returns once the thread has ended.
  void stop() noexcept;
  /// Entries pending.
  std::size_t pending() const;

private:
  void run();

  fire_fn fire_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<entry> heap_;
  std::uint64_t next_seq_ = 0;
  // The thread sleeps until wake_at_ (max: until woken).
  bool sleeping_ = false;
  clock::time_point wake_at_ = clock::time_point::max();
  bool stop_ = false;
  std::thread thread_;
};

} // namespace troupe::detail
