// byte_sink's slow paths: growth within the cap and gap insertion for header
// fix-ups.
#include "serialization/byte_sink.hpp"

#include <algorithm>
#include <new>

namespace troupe::serialization {

bool byte_sink::grow(std::size_t n) noexcept {
  if (failure_ != failure::none) return false;
  if (n > max_bytes_ - std::min(size_, max_bytes_)) {
    failure_ = failure::too_large;
    return false;
  }
  if (size_ + n <= capacity_) {
    room_ = std::min(capacity_, max_bytes_);
    return true;
  }
  std::size_t wanted = std::min(std::max(
                                  {size_ + n, capacity_ * 2, std::size_t{256}}),
                                max_bytes_);
  std::unique_ptr<char[]> bigger{new (std::nothrow) char[wanted]};
  if (!bigger) {
    failure_ = failure::no_memory;
    return false;
  }
  if (size_ > 0) std::memcpy(bigger.get(), buffer_.get(), size_);
  buffer_ = std::move(bigger);
  capacity_ = wanted;
  room_ = std::min(capacity_, max_bytes_);
  return true;
}

bool byte_sink::open_gap(std::size_t pos, std::size_t n) noexcept {
  if (n > room_ - size_ && !grow(n)) return false;
  std::memmove(buffer_.get() + pos + n, buffer_.get() + pos, size_ - pos);
  size_ += n;
  return true;
}

} // namespace troupe::serialization
