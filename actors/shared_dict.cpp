// troupe::shared_dict (see troupe/shared_dict.hpp): the C++ face of a
// lua_vm::dict_store, converting troupe::value to the store's scalars and
// its outcomes to dict_result.
#include "troupe/shared_dict.hpp"

#include <cmath>
#include <stdexcept>

#include "lua_vm/dict_store.hpp"
#include "troupe/error.hpp"

namespace troupe {

namespace {

using lua_vm::dict_scalar;
using lua_vm::dict_scalar_view;
using kind = dict_scalar::kind;

std::string_view checked_key(std::string_view key, const char* fn) {
  if (key.empty())
    throw std::invalid_argument{std::string{"shared_dict::"} + fn
                                + ": the key is empty"};
  return key;
}

// `v` as a scalar for the store; `nil_ok` for stores, where nil deletes.
dict_scalar_view scalar_of(const value& v, const char* fn, bool nil_ok) {
  dict_scalar_view s;
  switch (v.type()) {
    case value::kind::nil:
      if (nil_ok) return s;
      break;
    case value::kind::boolean:
      s.type = kind::boolean;
      s.boolean = v.as_bool();
      return s;
    case value::kind::integer:
      s.type = kind::integer;
      s.integer = v.as_int();
      return s;
    case value::kind::floating:
      s.type = kind::number;
      s.number = v.as_double();
      return s;
    case value::kind::string:
      s.type = kind::string;
      s.text = v.as_string();
      return s;
    default: break;
  }
  throw std::invalid_argument{std::string{"shared_dict::"} + fn
                              + ": a dict holds "
                              + (nil_ok ? "nil, booleans, numbers and strings"
                                        : "booleans, numbers and "
                                          "strings")
                              + ", not " + to_string(v)};
}

dict_scalar_view number_of(const value& v, const char* fn) {
  if (!v.is_number())
    throw std::invalid_argument{std::string{"shared_dict::"} + fn
                                + ": a number expected, got " + to_string(v)};
  return scalar_of(v, fn, false);
}

lua_vm::clock::duration ttl_of(dict_ttl ttl, const char* fn) {
  if (std::isnan(ttl.count()) || ttl.count() < 0)
    throw std::invalid_argument{std::string{"shared_dict::"} + fn
                                + ": the time to live must be a non-negative "
                                  "number of seconds"};
  if (ttl >= lua_vm::longest_wait) return lua_vm::longest_wait;
  return std::chrono::duration_cast<lua_vm::clock::duration>(ttl);
}

value value_of(const dict_scalar& s) {
  switch (s.type) {
    case kind::nil: return {};
    case kind::boolean: return s.boolean;
    case kind::integer: return s.integer;
    case kind::number: return s.number;
    case kind::string: return s.text;
  }
  return {};
}

dict_result found(value v) {
  return {std::move(v), {}, false};
}

dict_result failed(lua_vm::dict_error e, bool forcible = false) {
  return {{}, lua_vm::dict_error_text(e), forcible};
}

dict_result stored(const lua_vm::dict_outcome& o) {
  if (o.error != lua_vm::dict_error::none) {
    dict_result r = failed(o.error, o.forcible);
    r.value = false;
    return r;
  }
  return {true, {}, o.forcible};
}

dict_result put(lua_vm::dict_store& s, lua_vm::dict_store_mode mode,
                std::string_view key, const value& v, dict_ttl ttl,
                const char* fn) {
  return stored(s.store(mode, checked_key(key, fn), scalar_of(v, fn, true),
                        ttl_of(ttl, fn)));
}

} // namespace

shared_dict::shared_dict(std::shared_ptr<lua_vm::dict_store> store)
    : store_(std::move(store)) {}

lua_vm::dict_store& shared_dict::store() const {
  if (store_->closed())
    throw stopped_error{"troupe::shared_dict: its runtime has stopped"};
  return *store_;
}

dict_result shared_dict::get(std::string_view key) const {
  dict_scalar out;
  auto e = store().get(checked_key(key, "get"), out);
  if (e != lua_vm::dict_error::none) return failed(e);
  return found(value_of(out));
}

dict_result shared_dict::set(std::string_view key, const value& v,
                             dict_ttl ttl) {
  return put(store(), lua_vm::dict_store_mode::set, key, v, ttl, "set");
}

dict_result shared_dict::safe_set(std::string_view key, const value& v,
                                  dict_ttl ttl) {
  return put(store(), lua_vm::dict_store_mode::safe_set, key, v, ttl,
             "safe_set");
}

dict_result shared_dict::add(std::string_view key, const value& v,
                             dict_ttl ttl) {
  return put(store(), lua_vm::dict_store_mode::add, key, v, ttl, "add");
}

dict_result shared_dict::safe_add(std::string_view key, const value& v,
                                  dict_ttl ttl) {
  return put(store(), lua_vm::dict_store_mode::safe_add, key, v, ttl,
             "safe_add");
}

dict_result shared_dict::replace(std::string_view key, const value& v,
                                 dict_ttl ttl) {
  return put(store(), lua_vm::dict_store_mode::replace, key, v, ttl, "replace");
}

void shared_dict::erase(std::string_view key) {
  store().store(lua_vm::dict_store_mode::set, checked_key(key, "erase"), {},
                {});
}

dict_result shared_dict::incr(std::string_view key, const value& by) {
  dict_scalar out;
  auto o = store().incr(checked_key(key, "incr"), number_of(by, "incr"),
                        nullptr, {}, out);
  if (o.error != lua_vm::dict_error::none) return failed(o.error);
  return {value_of(out), {}, o.forcible};
}

dict_result shared_dict::incr(std::string_view key, const value& by,
                              const value& init, dict_ttl init_ttl) {
  dict_scalar out;
  auto start = number_of(init, "incr");
  auto o = store().incr(checked_key(key, "incr"), number_of(by, "incr"), &start,
                        ttl_of(init_ttl, "incr"), out);
  if (o.error != lua_vm::dict_error::none) return failed(o.error);
  return {value_of(out), {}, o.forcible};
}

dict_result shared_dict::ttl(std::string_view key) const {
  double seconds = 0;
  auto e = store().ttl(checked_key(key, "ttl"), seconds);
  if (e != lua_vm::dict_error::none) return failed(e);
  return found(seconds);
}

dict_result shared_dict::expire(std::string_view key, dict_ttl ttl) {
  auto e = store().expire(checked_key(key, "expire"), ttl_of(ttl, "expire"));
  if (e != lua_vm::dict_error::none) return failed(e);
  return found(true);
}

std::vector<std::string> shared_dict::keys(std::size_t max) const {
  return store().keys(max);
}

void shared_dict::flush_all() {
  store().flush_all();
}

std::size_t shared_dict::flush_expired(std::size_t max) {
  return store().flush_expired(max);
}

dict_result shared_dict::lpush(std::string_view key, const value& v) {
  std::size_t length = 0;
  auto o = store().push(checked_key(key, "lpush"), true,
                        scalar_of(v, "lpush", false), length);
  if (o.error != lua_vm::dict_error::none) return failed(o.error, o.forcible);
  return {static_cast<std::int64_t>(length), {}, o.forcible};
}

dict_result shared_dict::rpush(std::string_view key, const value& v) {
  std::size_t length = 0;
  auto o = store().push(checked_key(key, "rpush"), false,
                        scalar_of(v, "rpush", false), length);
  if (o.error != lua_vm::dict_error::none) return failed(o.error, o.forcible);
  return {static_cast<std::int64_t>(length), {}, o.forcible};
}

dict_result shared_dict::lpop(std::string_view key) {
  dict_scalar out;
  auto e = store().pop(checked_key(key, "lpop"), true, out);
  if (e != lua_vm::dict_error::none) return failed(e);
  return found(value_of(out));
}

dict_result shared_dict::rpop(std::string_view key) {
  dict_scalar out;
  auto e = store().pop(checked_key(key, "rpop"), false, out);
  if (e != lua_vm::dict_error::none) return failed(e);
  return found(value_of(out));
}

dict_result shared_dict::llen(std::string_view key) const {
  std::size_t length = 0;
  auto e = store().length(checked_key(key, "llen"), length);
  if (e != lua_vm::dict_error::none) return failed(e);
  return found(static_cast<std::int64_t>(length));
}

std::size_t shared_dict::capacity() const {
  return store().capacity();
}

std::size_t shared_dict::free_space() const {
  return store().free_space();
}

} // namespace troupe
