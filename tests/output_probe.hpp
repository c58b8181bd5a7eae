// A runtime output sink for tests: records lines, lets a test wait for one,
// and holds a script inside print("hold") (a C call its hook cannot
// interrupt) until released.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "wait_support.hpp"

namespace troupe::test {

/// Records the runtime's output lines and can hold a script inside print.
class output_probe {
public:
  /// The sink to put in runtime_config::output.
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) {
      std::unique_lock held{mutex_};
      lines_.emplace_back(line);
      changed_.notify_all();
      if (line == "hold") changed_.wait(held, [this] { return released_; });
    };
  }

  /// Waits (within patience) until `line` has been printed `count` times.
  bool wait_for(const std::string& line, std::size_t count = 1) {
    std::unique_lock held{mutex_};
    return changed_.wait_for(held, patience, [&] {
      return static_cast<std::size_t>(
               std::count(lines_.begin(), lines_.end(), line))
             >= count;
    });
  }

  /// The lines printed so far.
  std::vector<std::string> lines() {
    std::lock_guard held{mutex_};
    return lines_;
  }

  /// Lets every script held in print("hold") go on.
  void release() {
    std::lock_guard held{mutex_};
    released_ = true;
    changed_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool released_ = false;
};

} // namespace troupe::test
