// troupe::envelope (see envelope.hpp): a native actor's message, answered
// through the runtime as a script's worker.reply would be.
#include "troupe/envelope.hpp"

#include "actors/runtime_core.hpp"
#include "serialization/value_codec.hpp"

namespace troupe {

namespace {

std::shared_ptr<detail::runtime_core>
running(const std::weak_ptr<detail::runtime_core>& core) {
  auto c = core.lock();
  if (!c) throw stopped_error{"troupe::envelope: the runtime has stopped"};
  c->check_running();
  return c;
}

} // namespace

std::optional<worker> envelope::from() const {
  if (from_ == 0) return std::nullopt;
  return running(core_)->make_worker(from_);
}

worker envelope::self() const {
  return running(core_)->make_worker(self_);
}

bool envelope::reply(const value& v) const {
  if (call_ == 0)
    throw error{"troupe::envelope::reply: the message is not a call (is_call() "
                "tells)"};
  auto core = running(core_);
  serialization::byte_sink sink;
  serialization::encode_values({v}, sink, {}, &core->value_handles());
  return core->reply_from(self_, from_, call_, sink.view());
}

} // namespace troupe
