// troupe::runtime and troupe::worker: the public face of the host's side of
// script actors (runtime_host.cpp, runtime_addresses.cpp). The host is the
// parent of the workers it spawns, and may send to and call any worker.
#include "troupe/runtime.hpp"

#include "actors/runtime_access.hpp"
#include "actors/runtime_core.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"

namespace troupe {

namespace {

using detail::runtime_core;
using lua_vm::worker_id;

[[noreturn]] void foreign_worker(const worker& w) {
  throw error{"troupe::runtime: worker " + std::to_string(w.id())
              + " belongs to another runtime"};
}

[[noreturn]] void name_taken(std::string_view name) {
  throw error{"troupe::runtime::register_name: the name '" + std::string{name}
              + "' is taken"};
}

void check_name(std::string_view name) {
  if (name.empty() || name.size() > 256)
    throw error{"troupe::runtime::register_name: the name must be 1 to 256 "
                "bytes long"};
}

} // namespace

// ---- worker

detail::runtime_core& worker::core() const {
  if (!ref_)
    throw error{"troupe::worker: the handle is empty (it was moved from)"};
  return *ref_->core;
}

bool worker::send(const value& v) const {
  runtime_core& c = core();
  serialization::byte_sink sink;
  serialization::encode(v, sink, {}, &c.value_handles());
  return c.host_send(id_, sink.view());
}

std::future<value> worker::call(const value& v,
                                std::chrono::nanoseconds timeout) const {
  runtime_core& c = core();
  serialization::byte_sink sink;
  serialization::encode(v, sink, {}, &c.value_handles());
  return c.host_call(id_, sink.view(), timeout);
}

worker_status worker::status() const {
  runtime_core& c = core();
  bool dead = c.is_host_worker(id_) ? c.host_worker_dead(id_) : !c.find(id_);
  return dead ? worker_status::dead : worker_status::running;
}

void worker::cancel() const {
  runtime_core& c = core();
  if (!c.is_host_worker(id_))
    throw error{"troupe::worker::cancel: worker " + std::to_string(id_)
                + " is not a child of the host"};
  c.cancel_host_worker(id_);
}

// ---- runtime

runtime::runtime() : runtime(runtime_config{}) {}

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

} // namespace

worker runtime::spawn(const std::filesystem::path& path,
                      const std::vector<value>& args,
                      const spawn_options& options) {
  core_->check_running();
  if (!options.node.empty())
    return core_->make_worker(
      core_->spawn_on_node(path.string(), args, options));
  auto script = core_->resolve(path, "troupe::runtime::spawn");
  return core_->make_worker(
    start(*core_, script.chunk, std::move(script.dir), args, options));
}

worker runtime::spawn_source(std::string_view source, std::string_view name,
                             const std::vector<value>& args,
                             const spawn_options& options) {
  core_->check_running();
  bytecode chunk = compile(source, name);
  return core_->make_worker(
    start(*core_, chunk, core_->base_dir().string(), args, options));
}

std::optional<value> runtime::receive(const worker& w) {
  if (&w.core() != core_.get()) foreign_worker(w);
  return std::move(core_->select({w.id()}, std::nullopt).values[0]);
}

std::optional<value> runtime::receive(const worker& w,
                                      std::chrono::nanoseconds timeout) {
  if (&w.core() != core_.get()) foreign_worker(w);
  return std::move(
    core_->select({w.id()}, lua_vm::deadline_in(timeout)).values[0]);
}

selection runtime::receive(const std::vector<worker>& ws,
                           std::chrono::nanoseconds timeout) {
  if (ws.empty()) throw error{"troupe::runtime::receive: no worker given"};
  std::vector<worker_id> ids;
  for (const auto& w : ws) {
    if (&w.core() != core_.get()) foreign_worker(w);
    ids.push_back(w.id());
  }
  auto t = core_->select(ids, lua_vm::deadline_in(timeout));
  selection s;
  s.values_ = std::move(t.values);
  s.timed_out_ = t.timed_out;
  return s;
}

std::optional<exit_info> runtime::join(const worker& w,
                                       std::chrono::nanoseconds timeout) {
  if (&w.core() != core_.get()) foreign_worker(w);
  auto end = core_->wait_end(w.id(), lua_vm::deadline_in(timeout));
  if (!end) return std::nullopt;
  return core_->exit_of(end->ok, end->bytes);
}

exit_info runtime::join(const worker& w) {
  return *join(w, std::chrono::hours{24 * 365 * 100});
}

void runtime::register_name(std::string_view name, const worker& w) {
  if (&w.core() != core_.get()) foreign_worker(w);
  check_name(name);
  core_->check_running();
  switch (core_->register_name(name, w.id())) {
    case lua_vm::name_result::registered: return;
    case lua_vm::name_result::taken: name_taken(name);
    case lua_vm::name_result::failed: break;
  }
  throw error{"troupe::runtime::register_name: worker " + std::to_string(w.id())
              + " has ended"};
}

std::optional<worker> runtime::lookup(std::string_view name) const {
  core_->check_running();
  worker_id id = core_->lookup(name);
  if (id == 0) return std::nullopt;
  return core_->make_worker(id);
}

worker runtime::spawn_native(native_handler handler) {
  core_->check_running();
  return core_->make_worker(core_->spawn_native(std::move(handler)));
}

std::uint16_t runtime::listen(const std::string& host, std::uint16_t port,
                              const listen_options& options) {
  return core_->listen(host, port, options);
}

worker runtime::provide(std::string_view name, native_handler handler) {
  check_name(name);
  // Refused before anything starts when the name is taken already; a race
  // with another registration stops the new actor again.
  if (core_->lookup(name) != 0) name_taken(name);
  worker w = spawn_native(std::move(handler));
  try {
    register_name(name, w);
  } catch (...) {
    core_->cancel_host_worker(w.id());
    throw;
  }
  return w;
}

void runtime::on_message(const worker& w,
                         std::function<void(const value&)> callback) {
  if (&w.core() != core_.get()) foreign_worker(w);
  core_->on_message(w.id(), std::move(callback));
}

void runtime::on_end(const worker& w,
                     std::function<void(const exit_info&)> callback) {
  if (&w.core() != core_.get()) foreign_worker(w);
  core_->on_end(w.id(), std::move(callback));
}

troupe::shared_dict runtime::shared_dict(std::string_view name) const {
  auto i = core_->dicts.find(name);
  if (i == core_->dicts.end())
    throw std::invalid_argument{
      "troupe::runtime::shared_dict: no shared dict is named '"
      + std::string{name} + "' (runtime_config::shared_dicts declares them)"};
  return detail::runtime_access::dict(i->second);
}

runtime_stats runtime::stats() const {
  runtime_stats s;
  s.alive = core_->alive();
  s.spawned = core_->spawned.load();
  s.failed = core_->failed.load();
  s.messages = core_->messages.load();
  s.host_workers = core_->host_workers();
  s.slow_handlers = core_->slow_handlers.load();
  s.callback_errors = core_->callback_errors.load();
  return s;
}

runtime_metrics runtime::metrics() const {
  return core_->metrics();
}

std::string runtime::metrics_text() const {
  return prometheus_text(core_->metrics());
}

} // namespace troupe
