// The message timers' heap and thread (see timer_queue.hpp).
#include "actors/timer_queue.hpp"

#include <algorithm>

namespace troupe::detail {

namespace {

// The heap's order: the earliest at the front (std heaps keep the greatest).
bool later(const timer_queue::entry& a, const timer_queue::entry& b) noexcept {
  return a.due != b.due ? a.due > b.due : a.seq > b.seq;
}

} // namespace

timer_queue::timer_queue(fire_fn fire) : fire_(std::move(fire)) {}

timer_queue::~timer_queue() {
  stop();
}

void timer_queue::arm(clock::time_point due, std::uint64_t owner,
                      std::uint64_t id) {
  std::lock_guard guard{mutex_};
  if (stop_) return;
  // A time already past counts as now, read under the lock: then no entry
  // is armed behind one already fired with a later time, and firing order is
  // due order.
  due = std::max(due, clock::now());
  heap_.push_back({due, next_seq_++, owner, id});
  std::push_heap(heap_.begin(), heap_.end(), later);
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread{[this] { run(); }};
    } catch (...) {
      heap_.pop_back();
      throw;
    }
    return;
  }
  if (sleeping_ && due < wake_at_) {
    // Woken once for a burst: the thread takes every entry due when it runs.
    wake_at_ = due;
    wake_.notify_one();
  }
}

void timer_queue::drop(std::uint64_t owner) noexcept {
  std::lock_guard guard{mutex_};
  std::erase_if(heap_, [owner](const entry& e) { return e.owner == owner; });
  std::make_heap(heap_.begin(), heap_.end(), later);
}

void timer_queue::stop() noexcept {
  {
    std::lock_guard guard{mutex_};
    stop_ = true;
    std::vector<entry>{}.swap(heap_);
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::size_t timer_queue::pending() const {
  std::lock_guard guard{mutex_};
  return heap_.size();
}

void timer_queue::run() {
  std::vector<entry> due;
  std::unique_lock lock{mutex_};
  while (!stop_) {
    auto now = clock::now();
    while (!heap_.empty() && heap_.front().due <= now) {
      std::pop_heap(heap_.begin(), heap_.end(), later);
      due.push_back(heap_.back());
      heap_.pop_back();
    }
    if (!due.empty()) {
      lock.unlock();
      fire_(due);
      due.clear();
      lock.lock();
      continue;
    }
    wake_at_ = heap_.empty() ? clock::time_point::max() : heap_.front().due;
    sleeping_ = true;
    if (wake_at_ == clock::time_point::max())
      wake_.wait(lock);
    else
      wake_.wait_until(lock, wake_at_);
    sleeping_ = false;
  }
}

} // namespace troupe::detail
