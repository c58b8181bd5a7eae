// The growable output buffer encoders write msgpack into. It is scratch space
// that its owner (an actor, a codec) reuses from message to message, so
// steady-state encoding allocates nothing. It never throws: a write past the
// size limit, or an allocation failure, marks it failed and later writes are
// ignored.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace troupe::serialization {

/// Append-only bytes with a size cap.
class byte_sink {
public:
  /// Why a sink stopped accepting writes.
  enum class failure { none, too_large, no_memory };

  /// A sink that refuses to grow beyond `max_bytes`.
  explicit byte_sink(std::size_t max_bytes = std::size_t{64} << 20) noexcept
      : max_bytes_(max_bytes) {}

  /// Appends `n` bytes (ignored once failed).
  void write(const char* data, std::size_t n) noexcept {
    if (n > room_ - size_) [[unlikely]] {
      if (!grow(n)) return;
    }
    std::memcpy(buffer_.get() + size_, data, n);
    size_ += n;
  }

  /// Appends `n` bytes for the caller to fill and returns them, or nullptr once
  /// failed.
  char* extend(std::size_t n) noexcept {
    if (n > room_ - size_) [[unlikely]] {
      if (!grow(n)) return nullptr;
    }
    char* p = buffer_.get() + size_;
    size_ += n;
    return p;
  }

  /// Empties the sink and clears a failure, keeping its memory; `max_bytes`
  /// becomes the new cap.
  void reset(std::size_t max_bytes) noexcept {
    size_ = 0;
    failure_ = failure::none;
    max_bytes_ = max_bytes;
    room_ = std::min(capacity_, max_bytes_);
  }

  /// Drops everything written after `size` (size <= this->size()).
  void truncate(std::size_t size) noexcept {
    size_ = size;
  }

  /// Inserts `n` uninitialised bytes at `pos`, moving what follows. Returns
  /// false if it failed.
  bool open_gap(std::size_t pos, std::size_t n) noexcept;

  /// A pointer to the byte at `pos` (valid until the next write).
  char* at(std::size_t pos) noexcept {
    return buffer_.get() + pos;
  }

  /// The bytes written so far.
  std::string_view view() const noexcept {
    return {buffer_.get(), size_};
  }

  /// Number of bytes written so far.
  std::size_t size() const noexcept {
    return size_;
  }

  /// Why writes stopped being accepted, or failure::none.
  failure failed() const noexcept {
    return failure_;
  }

private:
  bool grow(std::size_t n) noexcept;

  std::unique_ptr<char[]> buffer_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t room_ = 0; // min(capacity_, max_bytes_): writes within it need no
                         // check
  std::size_t max_bytes_;
  failure failure_ = failure::none;
};

} // namespace troupe::serialization
