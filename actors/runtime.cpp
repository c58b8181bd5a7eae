// troupe::runtime and troupe::worker: the host's side of script actors. The
// host is the parent of the workers it spawns; their messages and ends arrive
// in runtime_core's host_children, and C++ threads take them under its mutex
// with the same rules a script's worker.receive follows (lua_vm::child_table).
#include "troupe/runtime.hpp"

#include <new>

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/runtime_core.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"

namespace troupe {

namespace {

using detail::runtime_core;
using lua_vm::child_table;
using lua_vm::worker_id;
using clock = std::chrono::steady_clock;

[[noreturn]] void foreign_worker(const worker& w) {
  throw error{"troupe::runtime: worker " + std::to_string(w.id())
              + " belongs to another runtime"};
}

struct taken {
  std::vector<std::optional<value>> values;
  bool timed_out = false;
};

// The select of DESIGN.md over `ids`, waiting until `deadline` (forever when
// absent).
taken select(runtime_core& core, const std::vector<worker_id>& ids,
             std::optional<clock::time_point> deadline) {
  taken result;
  result.values.resize(ids.size());
  std::unique_lock lock{core.mutex};
  for (;;) {
    if (core.stopped) throw stopped_error{"troupe: the runtime has stopped"};
    auto d = core.host_children.select(ids);
    switch (d.kind) {
      case child_table::decision::take:
        for (std::size_t i = 0; i < ids.size(); ++i) {
          if (core.host_children.has_message(ids[i])) {
            std::string_view bytes = core.host_children.front_message(ids[i]);
            result.values[i] = serialization::decode_value(bytes);
            if (auto link = core.host_links.find(ids[i]);
                link != core.host_links.end())
              link->second.shared->outbox.release(bytes.size());
            core.host_children.pop_message(ids[i]);
          }
        }
        return result;
      case child_table::decision::raise:
        std::rethrow_exception(
          lua_vm::end_exception(core.host_children.take_error(ids[d.index])));
      case child_table::decision::all_drained: return result;
      case child_table::decision::wait: break;
    }
    if (!deadline) {
      core.changed.wait(lock);
    } else if (core.changed.wait_until(lock, *deadline)
                 == std::cv_status::timeout
               && core.host_children.select(ids).kind
                    == child_table::decision::wait) {
      result.timed_out = true;
      return result;
    }
  }
}

} // namespace

// ---- worker

detail::runtime_core& worker::core() const noexcept {
  return *ref_->core;
}

bool worker::send(const value& v) const {
  core().check_running();
  detail::child_link link;
  {
    std::lock_guard guard{core().mutex};
    auto i = core().host_links.find(id_);
    if (core().host_children.dead(id_) || i == core().host_links.end())
      return false;
    link = i->second;
  }
  serialization::byte_sink sink;
  serialization::encode(v, sink);
  if (!link.reserve_inbox(sink.view().size()))
    throw limit_error{"troupe::worker::send: inbox full (worker "
                      + std::to_string(id_) + ")"};
  if (!link.shared->box.deliver(0, sink.view(), [&] {
        caf::anon_send(link.actor, detail::mail_atom::value);
      })) {
    link.shared->inbox.release(sink.view().size());
    throw std::bad_alloc{};
  }
  ++core().messages;
  return true;
}

worker_status worker::status() const {
  core().check_running();
  std::lock_guard guard{core().mutex};
  return core().host_children.dead(id_) ? worker_status::dead
                                        : worker_status::running;
}

void worker::cancel() const {
  core().check_running();
  std::lock_guard guard{core().mutex};
  core().host_children.note_cancel(id_);
  if (auto i = core().host_links.find(id_); i != core().host_links.end())
    i->second.stop();
}

// ---- runtime

runtime::runtime() : runtime(runtime_config{}) {}

worker runtime::make_worker(std::shared_ptr<runtime_core> core,
                            std::uint64_t id) {
  // Built in place: a temporary worker_ref would forget the worker when it
  // died.
  return worker{std::shared_ptr<detail::worker_ref>(
                  new detail::worker_ref{std::move(core), id}),
                id};
}

runtime::runtime(runtime_config config)
    : core_(std::make_shared<runtime_core>(std::move(config))) {}

runtime::~runtime() {
  core_->shutdown();
}

namespace {

worker_id start(runtime_core& core, const bytecode& chunk, std::string dir,
                const std::vector<value>& args, const spawn_options& options) {
  worker_id id = 0;
  core.spawn(core.host_request(chunk, std::move(dir), args, options), id);
  return id;
}

std::filesystem::path base_of(const runtime_core& core) {
  return core.config.base_dir.empty() ? std::filesystem::current_path()
                                      : core.config.base_dir;
}

} // namespace

worker runtime::spawn(const std::filesystem::path& path,
                      const std::vector<value>& args,
                      const spawn_options& options) {
  core_->check_running();
  if (path.native().find('\0') != std::string::npos)
    throw error{"troupe::runtime::spawn: the path contains a NUL byte"};
  std::filesystem::path full = path.is_absolute() ? path
                                                  : base_of(*core_) / path;
  std::string message;
  detail::code_cache::failure why = detail::code_cache::failure::none;
  auto chunk = core_->cache.load(full.lexically_normal().string(), message,
                                 why);
  if (!chunk) {
    if (why == detail::code_cache::failure::syntax)
      throw compile_error{message};
    throw error{message};
  }
  return make_worker(core_, start(*core_, *chunk, full.parent_path().string(),
                                  args, options));
}

worker runtime::spawn_source(std::string_view source, std::string_view name,
                             const std::vector<value>& args,
                             const spawn_options& options) {
  core_->check_running();
  bytecode chunk = compile(source, name);
  return make_worker(core_, start(*core_, chunk, base_of(*core_).string(), args,
                                  options));
}

std::optional<value> runtime::receive(const worker& w) {
  if (w.ref_->core != core_) foreign_worker(w);
  return std::move(select(*core_, {w.id()}, std::nullopt).values[0]);
}

std::optional<value> runtime::receive(const worker& w,
                                      std::chrono::nanoseconds timeout) {
  if (w.ref_->core != core_) foreign_worker(w);
  return std::move(
    select(*core_, {w.id()}, lua_vm::deadline_in(timeout)).values[0]);
}

selection runtime::receive(const std::vector<worker>& ws,
                           std::chrono::nanoseconds timeout) {
  if (ws.empty()) throw error{"troupe::runtime::receive: no worker given"};
  std::vector<worker_id> ids;
  for (const auto& w : ws) {
    if (w.ref_->core != core_) foreign_worker(w);
    ids.push_back(w.id());
  }
  taken t = select(*core_, ids, lua_vm::deadline_in(timeout));
  selection s;
  s.values_ = std::move(t.values);
  s.timed_out_ = t.timed_out;
  return s;
}

std::optional<exit_info> runtime::join(const worker& w,
                                       std::chrono::nanoseconds timeout) {
  if (w.ref_->core != core_) foreign_worker(w);
  auto deadline = lua_vm::deadline_in(timeout);
  std::unique_lock lock{core_->mutex};
  const lua_vm::child_end* end = nullptr;
  while ((end = core_->host_children.end_of(w.id())) == nullptr) {
    if (core_->stopped) throw stopped_error{"troupe: the runtime has stopped"};
    if (core_->changed.wait_until(lock, deadline) == std::cv_status::timeout
        && core_->host_children.end_of(w.id()) == nullptr)
      return std::nullopt;
  }
  exit_info info;
  info.ok = end->ok;
  if (end->ok)
    info.values = serialization::decode_value(end->bytes).as_array();
  else
    info.error = lua_vm::end_script_error(end->bytes);
  return info;
}

exit_info runtime::join(const worker& w) {
  return *join(w, std::chrono::hours{24 * 365 * 100});
}

runtime_stats runtime::stats() const {
  return {core_->alive(), core_->spawned.load(), core_->failed.load(),
          core_->messages.load(), core_->host_workers()};
}

} // namespace troupe
