// The table of peers (see node_links.hpp).
#include "actors/node_links.hpp"

#include <random>

#include "serialization/handle_rewrite.hpp"

namespace troupe::detail {

node_links::node_links(std::uint64_t own, proxy_maker make, export_watch watch)
    : own_(own), make_(std::move(make)), watch_(std::move(watch)) {}

node_links::peer_entry& node_links::entry(std::uint64_t peer) {
  return peers_[peer];
}

std::uint64_t node_links::greet(std::uint64_t peer, const actor_ref& gateway) {
  std::lock_guard held{mutex_};
  auto& p = entry(peer);
  p.gateway = gateway;
  if (p.tokens.empty()) {
    std::random_device random;
    std::uint64_t token = 0;
    while (token == 0)
      token = (static_cast<std::uint64_t>(random()) << 32) | random();
    p.tokens.push_back(token);
  }
  return p.tokens.front();
}

void node_links::greeted(std::uint64_t peer, const actor_ref& gateway,
                         std::uint64_t token) {
  std::lock_guard held{mutex_};
  auto& p = entry(peer);
  if (!p.gateway) p.gateway = gateway;
  // Two runtimes that greet each other at once each made a token: both
  // stand.
  if (std::find(p.tokens.begin(), p.tokens.end(), token) == p.tokens.end())
    p.tokens.push_back(token);
}

bool node_links::admits(std::uint64_t peer, std::uint64_t token) const {
  std::lock_guard held{mutex_};
  auto i = peers_.find(peer);
  return token != 0 && i != peers_.end()
         && std::find(i->second.tokens.begin(), i->second.tokens.end(), token)
              != i->second.tokens.end();
}

std::optional<peer_route> node_links::route(std::uint64_t peer) const {
  std::lock_guard held{mutex_};
  auto i = peers_.find(peer);
  if (i == peers_.end() || i->second.tokens.empty()) return std::nullopt;
  return peer_route{i->second.gateway, i->second.tokens.front()};
}

std::pair<std::uint64_t, worker_id>
node_links::out_id(peer_entry& p, std::uint64_t peer, worker_id id) {
  if (id == 0) return {own_, 0};
  if (auto s = stand_.find(id); s != stand_.end() && s->second.first == peer)
    return {peer, s->second.second};
  if (p.given.insert(id).second) {
    auto& to = exported_[id];
    to.push_back(peer);
    if (to.size() == 1) watch_(id);
  }
  return {own_, id};
}

worker_id node_links::in_id(peer_entry& p, std::uint64_t peer,
                            std::uint64_t tag, worker_id id) {
  if (id == 0) return 0;
  if (tag == own_) return p.given.contains(id) ? id : 0;
  if (tag != peer) return 0;
  if (auto i = p.proxies.find(id); i != p.proxies.end()) return i->second;
  worker_id local = make_(peer, id, p.gateway);
  if (local != 0) {
    p.proxies.emplace(id, local);
    stand_.emplace(local, std::pair{peer, id});
  }
  return local;
}

std::pair<std::uint64_t, worker_id> node_links::id_to_peer(std::uint64_t peer,
                                                           worker_id id) {
  std::lock_guard held{mutex_};
  return out_id(entry(peer), peer, id);
}

worker_id node_links::id_from_peer(std::uint64_t peer, std::uint64_t tag,
                                   worker_id id) {
  std::lock_guard held{mutex_};
  return in_id(entry(peer), peer, tag, id);
}

std::optional<std::string> node_links::to_peer(std::uint64_t peer,
                                               std::string& bytes) {
  std::lock_guard held{mutex_};
  auto& p = entry(peer);
  const char* why = nullptr;
  auto e = serialization::rewrite_handles(bytes, [&](serialization::item& h) {
    if (h.addr.kind != serialization::address::actor) {
      why = "a call's reply token cannot be sent to another node";
      return false;
    }
    std::tie(h.tag, h.addr.id) = out_id(p, peer, h.addr.id);
    return true;
  });
  if (e == serialization::read_error::none) return std::nullopt;
  return why != nullptr ? why : serialization::read_error_text(e);
}

std::optional<std::string> node_links::from_peer(std::uint64_t peer,
                                                 std::string& bytes) {
  std::lock_guard held{mutex_};
  auto& p = entry(peer);
  const char* why = nullptr;
  auto e = serialization::rewrite_handles(bytes, [&](serialization::item& h) {
    if (h.addr.kind != serialization::address::actor) {
      why = "a call's reply token came from another node";
      return false;
    }
    worker_id local = in_id(p, peer, h.tag, h.addr.id);
    if (local == 0) {
      why = "a handle the node was never given (or forged)";
      return false;
    }
    h.tag = own_;
    h.addr.id = local;
    return true;
  });
  if (e == serialization::read_error::none) return std::nullopt;
  return why != nullptr ? why : serialization::read_error_text(e);
}

bool node_links::given(std::uint64_t peer, worker_id id) const {
  std::lock_guard held{mutex_};
  auto i = peers_.find(peer);
  return i != peers_.end() && i->second.given.contains(id);
}

void node_links::adopt(std::uint64_t peer, worker_id remote, worker_id id) {
  std::lock_guard held{mutex_};
  entry(peer).proxies[remote] = id;
  stand_[id] = {peer, remote};
}

void node_links::give(std::uint64_t peer, worker_id id) {
  std::lock_guard held{mutex_};
  entry(peer).given.insert(id);
}

void node_links::forget(worker_id id) noexcept {
  std::lock_guard held{mutex_};
  auto s = stand_.find(id);
  if (s == stand_.end()) return;
  if (auto p = peers_.find(s->second.first); p != peers_.end()) {
    p->second.proxies.erase(s->second.second);
    p->second.given.erase(id);
  }
  stand_.erase(s);
  std::erase_if(outbound_,
                [id](const auto& c) { return c.second.proxy == id; });
}

std::vector<std::uint64_t> node_links::ended(worker_id id) {
  std::lock_guard held{mutex_};
  auto i = exported_.find(id);
  if (i == exported_.end()) return {};
  auto peers = std::move(i->second);
  exported_.erase(i);
  for (auto peer : peers)
    if (auto p = peers_.find(peer); p != peers_.end())
      p->second.given.erase(id);
  return peers;
}

worker_id node_links::proxy_of(std::uint64_t peer, worker_id remote) const {
  std::lock_guard held{mutex_};
  auto p = peers_.find(peer);
  if (p == peers_.end()) return 0;
  auto i = p->second.proxies.find(remote);
  return i == p->second.proxies.end() ? 0 : i->second;
}

void node_links::drop_routes() noexcept {
  std::lock_guard held{mutex_};
  for (auto& [tag, p] : peers_) p.gateway = actor_ref{};
}

std::uint64_t node_links::number() {
  std::lock_guard held{mutex_};
  return next_call_++;
}

std::uint64_t node_links::open_outbound(const outbound_call& c) {
  std::lock_guard held{mutex_};
  auto number = next_call_++;
  outbound_.emplace(number, c);
  return number;
}

namespace {

template<class Map>
std::optional<typename Map::mapped_type>
take(Map& calls, std::uint64_t number) {
  auto i = calls.find(number);
  if (i == calls.end()) return std::nullopt;
  auto c = i->second;
  calls.erase(i);
  return c;
}

} // namespace

std::optional<outbound_call> node_links::take_outbound(std::uint64_t number) {
  std::lock_guard held{mutex_};
  return take(outbound_, number);
}

std::uint64_t node_links::open_inbound(const inbound_call& c) {
  std::lock_guard held{mutex_};
  auto number = next_call_++;
  inbound_.emplace(number, c);
  return number;
}

std::optional<inbound_call> node_links::take_inbound(std::uint64_t number) {
  std::lock_guard held{mutex_};
  return take(inbound_, number);
}

} // namespace troupe::detail
