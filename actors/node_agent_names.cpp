// A node's agent answers its peers' worker.lookup(name, {node = ...}): at
// once when the name is there, else once it is registered or the lookup's
// wait is over (see node_agent.hpp).
#include "actors/node_agent.hpp"

#include "actors/node_wire.hpp"

namespace troupe::detail {

caf::result<std::uint64_t, std::uint64_t>
node_agent::lookup(std::uint64_t token, const std::string& name,
                   std::int64_t wait_ns) {
  if (!admitted(token))
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"the link presented no valid token"});
  auto peer = sender_tag();
  auto& core = *init_.core;
  if (auto id = core.lookup(name); id != 0 && core.find(id)) {
    auto [tag, crossing] = core.links().id_to_peer(peer, id);
    return {tag, crossing};
  }
  if (wait_ns <= 0) return {core.tag, std::uint64_t{0}};
  auto promise = make_response_promise<std::uint64_t, std::uint64_t>();
  auto wait = std::chrono::nanoseconds{wait_ns};
  name_waits_.push_back(
    {name, peer, promise, std::chrono::steady_clock::now() + wait});
  core.await_name(name, init_.id);
  delayed_send(this, wait, lookup_due_atom::value);
  return promise;
}

void node_agent::answer_lookups(bool due) {
  auto& core = *init_.core;
  auto now = std::chrono::steady_clock::now();
  std::vector<std::string> over;
  std::erase_if(name_waits_, [&](name_wait& w) {
    auto id = core.lookup(w.name);
    if (id != 0 && core.find(id)) {
      auto [tag, crossing] = core.links().id_to_peer(w.peer, id);
      w.promise.deliver(tag, crossing);
      return true;
    }
    if (!due || w.until > now) return false;
    w.promise.deliver(core.tag, std::uint64_t{0});
    over.push_back(w.name);
    return true;
  });
  // A registration takes the agent's wait for its name: names still awaited
  // are awaited again, those no lookup waits for any more are let go.
  for (const auto& w : name_waits_) core.await_name(w.name, init_.id);
  for (const auto& name : over)
    if (std::none_of(name_waits_.begin(), name_waits_.end(),
                     [&](const name_wait& w) { return w.name == name; }))
      core.forget_name_wait(name, init_.id);
}

} // namespace troupe::detail
