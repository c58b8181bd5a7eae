// troupe::supervisor and troupe::lease over the lease table.
#include "troupe/supervisor.hpp"

#include <utility>

#include "actors/job_keeper.hpp"
#include "actors/lease_table.hpp"
#include "actors/runtime_access.hpp"
#include "lua_vm/control.hpp"
#include "troupe/error.hpp"

namespace troupe {

lease::lease(std::shared_ptr<detail::lease_table> table, detail::lease_key* key,
             std::uint64_t id) noexcept
    : table_(std::move(table)), key_(key), id_(id) {}

lease::lease(lease&& other) noexcept
    : table_(std::move(other.table_)),
      key_(std::exchange(other.key_, nullptr)),
      id_(other.id_) {}

lease& lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    table_ = std::move(other.table_);
    key_ = std::exchange(other.key_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

lease::~lease() {
  release();
}

const std::string& lease::key() const {
  if (key_ == nullptr)
    throw error{
      "troupe::lease::key: the lease is empty (released or moved from)"};
  return key_->name;
}

void lease::release() noexcept {
  if (key_ != nullptr) {
    table_->release(std::exchange(key_, nullptr));
    table_.reset();
  }
}

supervisor::supervisor() : table_(std::make_shared<detail::lease_table>()) {}

supervisor::supervisor(runtime& rt) : supervisor(rt, {}) {}

supervisor::supervisor(runtime& rt,
                       std::function<void(const job_event&)> on_event)
    : table_(std::make_shared<detail::lease_table>()),
      keeper_(
        std::make_shared<detail::job_keeper>(detail::runtime_access::core(rt),
                                             table_, std::move(on_event))) {
  keeper_->start();
}

supervisor::~supervisor() {
  stop();
}

void supervisor::set(std::string_view key, std::size_t target) {
  if (keeper_ && keeper_->set_target(key, target)) return;
  table_->set(key, target);
}

detail::job_keeper& supervisor::keeper() const {
  if (!keeper_)
    throw error{"troupe::supervisor: supervised jobs need a supervisor made "
                "on a runtime"};
  return *keeper_;
}

void supervisor::run(std::string_view key, job j, restart_policy policy) {
  keeper().run(key, std::move(j), policy);
}

std::future<value> supervisor::submit(std::string_view key, job j,
                                      restart_policy policy) {
  return keeper().submit(key, std::move(j), policy);
}

void supervisor::use_pool(std::string_view key, pool& p) {
  keeper().use_pool(key, p.core_);
}

void supervisor::reset(std::string_view key) {
  keeper().reset(key);
}

bool supervisor::failed(std::string_view key) const {
  return keeper().failed(key);
}

std::vector<job_event> supervisor::events() {
  return keeper().events();
}

const char* to_string(job_event_kind kind) noexcept {
  switch (kind) {
    case job_event_kind::started: return "started";
    case job_event_kind::exited: return "exited";
    case job_event_kind::failed: return "failed";
    case job_event_kind::restarted: return "restarted";
    case job_event_kind::gave_up: return "gave_up";
  }
  return "?";
}

std::optional<lease> supervisor::acquire_until(
  const std::string* key,
  std::optional<std::chrono::steady_clock::time_point> deadline) {
  auto g = table_->acquire(key, deadline);
  if (!g) return std::nullopt;
  return lease{table_, g->key, g->id};
}

lease supervisor::acquire() {
  return std::move(*acquire_until(nullptr, std::nullopt));
}

lease supervisor::acquire(std::string_view key) {
  std::string name{key};
  return std::move(*acquire_until(&name, std::nullopt));
}

std::optional<lease> supervisor::try_acquire(std::chrono::nanoseconds timeout) {
  return acquire_until(nullptr, lua_vm::deadline_in(timeout));
}

std::optional<lease> supervisor::try_acquire(std::string_view key,
                                             std::chrono::nanoseconds timeout) {
  std::string name{key};
  return acquire_until(&name, lua_vm::deadline_in(timeout));
}

key_counts supervisor::counts(std::string_view key) const {
  return table_->counts(key);
}

std::vector<std::string> supervisor::keys() const {
  return table_->keys();
}

std::size_t supervisor::waiting() const {
  return table_->waiting();
}

void supervisor::stop() {
  // A keeper stops its table itself, under its own lock.
  if (keeper_)
    keeper_->stop();
  else
    table_->stop();
}

} // namespace troupe
