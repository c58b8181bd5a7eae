// A lock for critical sections of a few dozen instructions (a scheduler
// queue's push and pop, a post box's append). std::mutex puts a thread that
// finds it taken to sleep in the kernel, and the wake-up then costs the owner
// a system call and the sleeper microseconds: on the path of every message
// between two threads that is most of a hop. This one spins, pausing, and
// yields the CPU only if the owner was preempted mid-section. In lua_vm, the
// lowest layer that takes locks, so the actors and the shared dicts share it.
#pragma once

#include <atomic>
#include <thread>

namespace troupe::detail {

/// Tells the CPU this thread is spinning on a value another thread will
/// change (it yields the core's resources to a sibling hyperthread).
inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// A spinning lock for sections of a few dozen instructions; it yields the
/// CPU only when the owner was preempted. Meets BasicLockable
/// (std::lock_guard).
class spin_lock {
public:
  /// Takes the lock.
  void lock() noexcept {
    for (unsigned spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins >= yield_after) {
          std::this_thread::yield();
          spins = 0;
        } else {
          cpu_pause();
        }
      }
    }
  }

  /// Releases the lock.
  void unlock() noexcept {
    locked_.store(false, std::memory_order_release);
  }

private:
  static constexpr unsigned yield_after = 256;

  std::atomic<bool> locked_{false};
};

} // namespace troupe::detail
