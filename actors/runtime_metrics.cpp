// Metrics in runtime_core: each live worker's meters read from the block it
// shares (never from the worker itself, which may be running), its names from
// the names table, and the totals. Reading takes the directory's lock once
// and copies the links, so a worker ending meanwhile is simply reported as it
// was. No CAF here.
#include <algorithm>

#include "actors/runtime_core.hpp"

namespace troupe::detail {

namespace {

void read_meters(const runtime_core& core, const worker_shared& shared,
                 lua_vm::worker_info& out) {
  constexpr auto relaxed = std::memory_order_relaxed;
  const auto& m = shared.meters;
  out.waiting = m.waiting.load(relaxed);
  out.inbox = shared.inbox.messages.load(relaxed);
  out.messages_in = m.messages_in.load(relaxed);
  out.messages_out = m.messages_out.load(relaxed);
  out.bytes_out = m.bytes_out.load(relaxed);
  out.cpu_seconds = core.cycles.seconds(m.busy.load(relaxed));
  out.memory = m.memory.load(relaxed);
  out.script = shared.script;
}

} // namespace

bool runtime_core::info(worker_id id, lua_vm::worker_info& out) const {
  auto link = find(id);
  if (!link) return false;
  read_meters(*this, *link->shared, out);
  out.names.clear();
  {
    std::lock_guard guard{names_mutex_};
    auto [first, last] = names_of_.equal_range(id);
    for (auto i = first; i != last; ++i) out.names.push_back(i->second);
  }
  std::sort(out.names.begin(), out.names.end());
  return true;
}

runtime_metrics runtime_core::metrics() {
  std::vector<std::pair<worker_id, std::shared_ptr<worker_shared>>> live;
  runtime_metrics m;
  {
    // Under the directory's lock a worker is either listed (its bytes in its
    // meters) or has ended (its bytes in bytes_), never both.
    std::lock_guard guard{live_mutex_};
    live.reserve(live_.size());
    for (const auto& [id, link] : live_)
      if (!link.shared->serves_links) live.emplace_back(id, link.shared);
    m.bytes = bytes_.load(std::memory_order_relaxed);
  }
  std::sort(live.begin(), live.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::unordered_multimap<worker_id, std::string> names;
  {
    std::lock_guard guard{names_mutex_};
    names = names_of_;
  }
  m.alive = live.size();
  m.spawned = spawned.load();
  m.failed = failed.load();
  m.messages = messages.load();
  m.timers = pending_message_timers();
  m.workers.reserve(live.size());
  lua_vm::worker_info info;
  for (const auto& [id, shared] : live) {
    read_meters(*this, *shared, info);
    worker_metrics w{.worker = make_worker(id),
                     .script = info.script,
                     .names = {},
                     .status = info.waiting ? "waiting" : "running",
                     .inbox = info.inbox,
                     .messages_in = info.messages_in,
                     .messages_out = info.messages_out,
                     .bytes_out = info.bytes_out,
                     .cpu_seconds = info.cpu_seconds,
                     .memory = info.memory};
    auto [first, last] = names.equal_range(id);
    for (auto i = first; i != last; ++i) w.names.push_back(i->second);
    std::sort(w.names.begin(), w.names.end());
    m.bytes += info.bytes_out;
    m.workers.push_back(std::move(w));
  }
  for (const auto& [name, dict] : dicts) {
    lua_vm::dict_counts c = dict->counts();
    m.dicts.push_back(
      {name, dict->capacity(), c.used, c.entries, c.hits, c.misses});
    m.dict_hits += c.hits;
    m.dict_misses += c.misses;
  }
  return m;
}

} // namespace troupe::detail
