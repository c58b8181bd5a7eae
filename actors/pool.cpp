// troupe::pool and troupe::context: the public face of pool_core.
#include "troupe/pool.hpp"

#include "actors/pool_core.hpp"
#include "actors/runtime_access.hpp"
#include "serialization/value_codec.hpp"

namespace troupe {

context::context() : values_(value::map()) {}

context& context::set(std::string_view key, value v) {
  values_.set(value{key}, std::move(v));
  return *this;
}

const value& context::get(std::string_view key) const {
  return values_[value{key}];
}

namespace {

std::string encode(const context& ctx,
                   const serialization::value_handles& handles) {
  serialization::byte_sink sink;
  serialization::encode(ctx.values(), sink, {}, &handles);
  return std::string{sink.view()};
}

} // namespace

pool::pool(runtime& rt, std::size_t workers)
    : pool(rt, pool_config{.workers = workers}) {}

pool::pool(runtime& rt, pool_config config)
    : core_(
      std::make_shared<detail::pool_core>(detail::runtime_access::core(rt),
                                          config)) {
  core_->start();
}

pool::~pool() {
  core_->shutdown();
}

value pool::submit(const bytecode& chunk, const context& ctx) {
  return core_->submit(chunk, encode(ctx, core_->handles()), {}, {}, true)
    .get();
}

value pool::submit(const bytecode& chunk, const context& ctx,
                   std::chrono::nanoseconds timeout) {
  return core_->submit(chunk, encode(ctx, core_->handles()), timeout, {}, true)
    .get();
}

std::future<value> pool::submit_async(const bytecode& chunk, const context& ctx,
                                      submit_options options) {
  return core_->submit(chunk, encode(ctx, core_->handles()), options.timeout,
                       options.stop, false);
}

void pool::shutdown() {
  core_->shutdown();
}

void pool::shutdown_now() {
  core_->shutdown_now();
}

std::size_t pool::active_workers() const {
  return core_->active_workers();
}

std::size_t pool::busy_workers() const {
  return core_->busy_workers();
}

pool_stats pool::stats() const {
  return core_->stats();
}

} // namespace troupe
