// troupe::envelope: one message as a native (C++) actor receives it — the
// value, who sent it, and, for a call, the way to answer. A native actor's
// handler gets one per message (runtime::spawn_native); an envelope may be
// copied and answered later, from any thread, as a script may hand its reply
// token to a helper.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "troupe/export.hpp"
#include "troupe/value.hpp"
#include "troupe/worker.hpp"

namespace troupe {

namespace detail {
struct envelope_access;
} // namespace detail

/// One message of a native actor (see the file comment).
class TROUPE_API envelope {
public:
  /// The value sent.
  const value& message() const noexcept {
    return message_;
  }
  /// The sender's handle; empty when the host sent it (outside any native
  /// actor's handler) or a CAF actor without a handle did.
  std::optional<worker> from() const;
  /// Whether the sender waits for a reply (worker.call, worker::call).
  bool is_call() const noexcept {
    return call_ != 0;
  }
  /// Answers the call with `v`: true when the reply went to the caller, false
  /// when the call was answered already (by this envelope or a copy), the
  /// caller gave up waiting, or it has ended. Throws troupe::error when the
  /// message is not a call, troupe::codec_error when `v` cannot be sent,
  /// troupe::stopped_error once the runtime is gone.
  bool reply(const value& v) const;
  /// The handle of the actor that received the message.
  worker self() const;

private:
  friend struct detail::envelope_access;
  std::weak_ptr<detail::runtime_core> core_;
  value message_;
  std::uint64_t self_ = 0;
  std::uint64_t from_ = 0;
  std::uint64_t call_ = 0;
};

/// What a native actor does with each of its messages: called on a scheduler
/// thread, one message at a time, never concurrently with itself. It must not
/// block (it holds a scheduler thread); an exception it throws ends the actor
/// with that error.
using native_handler = std::function<void(envelope&)>;

} // namespace troupe
