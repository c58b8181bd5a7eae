// The wire's helpers (see node_wire.hpp): frames, and the middleman's
// settings.
#include "actors/node_wire.hpp"

#include <caf/io/middleman.hpp>

namespace troupe::detail {

void put_u64(std::string& out, std::uint64_t n) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

void append_frame(std::string& batch, std::uint64_t call,
                  std::string_view bytes) {
  put_u64(batch, call);
  put_u64(batch, bytes.size());
  batch.append(bytes);
}

void append_peer_frame(std::string& batch, const peer_frame& f) {
  for (auto n : {f.call, f.target, f.from_tag, f.from_id, f.bytes.size()})
    put_u64(batch, n);
  batch.append(f.bytes);
}

bool take_u64(std::string_view& in, std::uint64_t& out) noexcept {
  if (in.size() < 8) return false;
  out = 0;
  for (int i = 0; i < 8; ++i)
    out |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i]))
           << (8 * i);
  in.remove_prefix(8);
  return true;
}

void load_network(caf::actor_system_config& config) {
  using namespace std::chrono_literals;
  config.load<caf::io::middleman>();
  config.set("middleman.heartbeat-interval", caf::timespan{200ms});
  config.set("middleman.connection-timeout", caf::timespan{1500ms});
  config.set("middleman.workers", std::size_t{0});
  config.set("middleman.app-identifiers",
             std::vector<std::string>{node_protocol});
}

} // namespace troupe::detail
