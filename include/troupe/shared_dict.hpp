// troupe::shared_dict: one of a runtime's shared dicts (runtime_config::
// shared_dicts), the store scripts reach with worker.shared(NAME), from C++.
// Keys are strings; values nil, boolean, integer, float or string; a dict
// holds up to its byte capacity and makes room by evicting the least recently
// used entries (a dict of 512 KiB or more is split by key in up to 16 shards
// of at least 256 KiB, each evicting its own; one value must fit a shard).
// Each operation does and reports what OpenResty's
// ngx.shared.DICT does: a dict_result carries its value, its error ("not
// found", "exists", "no memory", "not a number", "value is a list", "value
// not a list"; empty on success) and whether live entries were evicted.
// Thread-safe; copies name the same dict.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/export.hpp"
#include "troupe/value.hpp"

namespace troupe {

namespace lua_vm {
class dict_store;
}
namespace detail {
struct runtime_access;
}

/// What one dict operation returns (OpenResty's `value, err, forcible`).
struct dict_result {
  /// The value read, the number incr made, the length of a list, the seconds
  /// left (ttl); for stores true or false. Nil when absent or on an error.
  troupe::value value;
  /// Why it failed, in OpenResty's words; empty on success.
  std::string error;
  /// Whether making room evicted entries that had not expired.
  bool forcible = false;

  /// Whether it succeeded.
  bool ok() const noexcept {
    return error.empty();
  }
};

/// A time to live; zero: none.
using dict_ttl = std::chrono::duration<double>;

/// One shared dict (see the file comment). Values must be scalars: an array
/// or map throws std::invalid_argument, as does a negative or NaN time to
/// live or an empty key. Using one after its runtime is gone throws
/// troupe::stopped_error.
class TROUPE_API shared_dict {
public:
  /// The value of `key`; nil when absent or expired.
  dict_result get(std::string_view key) const;
  /// Stores `v` (nil deletes), evicting others if it must.
  dict_result set(std::string_view key, const value& v, dict_ttl ttl = {});
  /// As set, but fails with "no memory" rather than evict a live entry.
  dict_result safe_set(std::string_view key, const value& v, dict_ttl ttl = {});
  /// As set, only when `key` is absent ("exists" otherwise).
  dict_result add(std::string_view key, const value& v, dict_ttl ttl = {});
  /// As add, but fails with "no memory" rather than evict a live entry.
  dict_result safe_add(std::string_view key, const value& v, dict_ttl ttl = {});
  /// As set, only when `key` is present ("not found" otherwise).
  dict_result replace(std::string_view key, const value& v, dict_ttl ttl = {});
  /// Removes `key`.
  void erase(std::string_view key);
  /// Adds the number `by` to the number at `key` and returns the sum;
  /// "not found" when absent, "not a number" for anything else.
  dict_result incr(std::string_view key, const value& by);
  /// As incr, an absent key starting from `init` with time to live `init_ttl`.
  dict_result incr(std::string_view key, const value& by, const value& init,
                   dict_ttl init_ttl = {});
  /// Seconds `key` has left (0: no expiry); "not found" when absent.
  dict_result ttl(std::string_view key) const;
  /// Gives `key` a new time to live; "not found" when absent.
  dict_result expire(std::string_view key, dict_ttl ttl);
  /// Up to `max` live keys (0: all), most recently used first.
  std::vector<std::string> keys(std::size_t max = 1024) const;
  /// Expires every entry.
  void flush_all();
  /// Frees up to `max` expired entries (0: all); returns how many.
  std::size_t flush_expired(std::size_t max = 0);
  /// Pushes the scalar `v` (not nil) at the front of the list at `key`;
  /// the list's new length, or "value not a list".
  dict_result lpush(std::string_view key, const value& v);
  /// As lpush, at the back.
  dict_result rpush(std::string_view key, const value& v);
  /// Takes the front element of the list at `key` (nil when empty).
  dict_result lpop(std::string_view key);
  /// Takes the back element.
  dict_result rpop(std::string_view key);
  /// The list's length (0 when absent).
  dict_result llen(std::string_view key) const;
  /// Its byte capacity.
  std::size_t capacity() const;
  /// Bytes not taken by entries.
  std::size_t free_space() const;

private:
  friend struct detail::runtime_access;
  explicit shared_dict(std::shared_ptr<lua_vm::dict_store> store);
  lua_vm::dict_store& store() const;
  std::shared_ptr<lua_vm::dict_store> store_;
};

} // namespace troupe
