// A FIFO of messages (msgpack bytes), kept end to end in one buffer behind a
// length each: queuing a message copies its bytes but allocates nothing once
// the buffer has grown to the traffic, where a string per message cost a
// malloc and, freed by another thread than the one that made it, a trip
// through malloc's locks. Costs nothing until used (std::deque allocates over
// half a kilobyte as soon as it exists, which every idle worker would pay).
// A buffer is kept while the traffic needs it and given back once a burst that
// grew it is over.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace troupe::lua_vm {

/// A FIFO of messages end to end in one buffer; allocates nothing once
/// grown to the traffic.
class byte_queue {
public:
  /// Whether no message is queued.
  bool empty() const noexcept {
    return count_ == 0;
  }

  /// Queued messages.
  std::size_t size() const noexcept {
    return count_;
  }

  /// The oldest message (the queue must not be empty); valid until the queue
  /// changes.
  std::string_view front() const noexcept {
    return {data_.data() + head_ + sizeof(std::size_t), front_length()};
  }

  /// Appends a copy of `bytes`; throws std::bad_alloc with nothing queued.
  void push_back(std::string_view bytes) {
    std::size_t n = bytes.size();
    data_.reserve(data_.size() + sizeof n + n);
    data_.append(reinterpret_cast<const char*>(&n), sizeof n);
    data_.append(bytes);
    ++count_;
    if (data_.size() > high_water_) high_water_ = data_.size();
  }

  /// Appends `head` and `body` as one message; throws std::bad_alloc with
  /// nothing queued.
  void push_back(std::string_view head, std::string_view body) {
    std::size_t n = head.size() + body.size();
    data_.reserve(data_.size() + sizeof n + n);
    data_.append(reinterpret_cast<const char*>(&n), sizeof n);
    data_.append(head);
    data_.append(body);
    ++count_;
    if (data_.size() > high_water_) high_water_ = data_.size();
  }

  /// Drops the oldest message, reclaiming the consumed prefix now and then.
  void pop_front() noexcept {
    head_ += sizeof(std::size_t) + front_length();
    if (--count_ == 0) {
      clear();
    } else if (head_ >= compact_after && head_ * 2 >= data_.size()) {
      data_.erase(0, head_);
      head_ = 0;
    }
  }

  /// Drops every message. The buffer is kept for the next messages unless
  /// it is large and far larger than this round of them needed (what a burst
  /// left behind).
  void clear() noexcept {
    if (outgrown(data_, high_water_))
      std::string{}.swap(data_);
    else
      data_.clear();
    head_ = 0;
    count_ = 0;
    high_water_ = 0;
  }

  /// Whether `buffer` should be given back, `used` bytes of it having been
  /// needed lately.
  static bool outgrown(const std::string& buffer, std::size_t used) noexcept {
    return buffer.capacity() > keep_capacity && buffer.capacity() > 4 * used;
  }

private:
  static constexpr std::size_t compact_after = 4096;
  static constexpr std::size_t keep_capacity = 64 * 1024;

  std::size_t front_length() const noexcept {
    std::size_t n;
    std::memcpy(&n, data_.data() + head_, sizeof n);
    return n;
  }

  std::string data_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t high_water_ = 0;
};

} // namespace troupe::lua_vm
