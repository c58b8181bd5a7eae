// A FIFO of messages (msgpack bytes). std::deque allocates over half a kilobyte
// as soon as it exists, which every idle worker would pay for its inbox and
// every child for its queue; this one costs nothing until used.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace troupe::lua_vm {

/// See the file comment.
class byte_queue {
public:
  /// Whether no message is queued.
  bool empty() const noexcept {
    return head_ == items_.size();
  }
  /// Queued messages.
  std::size_t size() const noexcept {
    return items_.size() - head_;
  }
  /// The oldest message (the queue must not be empty).
  const std::string& front() const noexcept {
    return items_[head_];
  }
  /// Appends a message.
  void push_back(std::string bytes) {
    items_.push_back(std::move(bytes));
  }
  /// Drops the oldest message, reclaiming the consumed prefix now and then.
  void pop_front() noexcept {
    items_[head_++].clear();
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(),
                   items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  /// Drops every message.
  void clear() noexcept {
    items_.clear();
    head_ = 0;
  }

private:
  std::vector<std::string> items_;
  std::size_t head_ = 0;
};

} // namespace troupe::lua_vm
