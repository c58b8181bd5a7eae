// Who waits for a worker's end: the workers that monitor it, that have a call
// in flight to it, that join it, and the host's calls. A watcher adds itself
// before it relies on the end arriving; the worker closes the list as it
// ends and tells everyone on it, so a watch added in time is never missed and
// a watch that comes too late learns so at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

#include "lua_vm/spin_lock.hpp"

namespace troupe::detail {

/// The watches on one worker (see the file comment).
class watch_list {
public:
  /// One watch: `token` goes back to `who` (0: the host) with the end.
  struct watch {
    std::uint64_t who;
    std::uint64_t token;
    friend bool operator==(const watch&, const watch&) = default;
  };

  /// Adds `w`; false (nothing added) once the worker has ended. Throws
  /// std::bad_alloc with nothing added.
  bool add(watch w) {
    std::lock_guard guard{lock_};
    if (closed_) return false;
    watches_.push_back(w);
    return true;
  }

  /// Withdraws one `w` if it is there.
  void remove(watch w) noexcept {
    std::lock_guard guard{lock_};
    auto i = std::find(watches_.rbegin(), watches_.rend(), w);
    if (i == watches_.rend()) return;
    *i = watches_.back();
    watches_.pop_back();
  }

  /// Refuses later watches and returns those there are.
  std::vector<watch> close() noexcept {
    std::lock_guard guard{lock_};
    closed_ = true;
    return std::move(watches_);
  }

private:
  spin_lock lock_;
  std::vector<watch> watches_;
  bool closed_ = false;
};

} // namespace troupe::detail
