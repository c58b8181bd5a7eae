// troupe::value: the C++ face of the data that crosses between Lua states (nil,
// boolean, 64-bit integer, double, binary-safe string, array, map, and a
// handle: a troupe::worker naming any actor of the runtime). It converts
// to and from the same msgpack the Lua side uses, so a value built here arrives
// in a script as the table it describes, and a script's table comes back as a
// value.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "troupe/export.hpp"

namespace troupe {

class worker;

/// A Lua-transferable value: nil, bool, int64, double, string, array, map or
/// handle.
/// Integers and floats are distinct kinds (1 and 1.0 are different values, as
/// msgpack keeps them apart). Maps are kept sorted by key, so equality and
/// printing ignore insertion order; a map key is a boolean, a number or a
/// string, and a float key with an integral value becomes an integer key, as in
/// Lua. A nil map value means "absent" and is not stored.
class TROUPE_API value {
public:
  /// The kinds a value can hold.
  enum class kind : std::uint8_t {
    nil,
    boolean,
    integer,
    floating,
    string,
    array,
    map,
    /// A troupe::worker: the address of an actor (a script's handle).
    handle,
  };

  /// Elements of an array value.
  using array_type = std::vector<value>;
  /// Entries of a map value, sorted by key, keys unique.
  using map_type = std::vector<std::pair<value, value>>;

  /// Constructs nil.
  value() noexcept = default;
  /// Constructs nil.
  value(std::nullptr_t) noexcept {}
  /// Constructs a boolean.
  value(bool b) noexcept : data_(b) {}
  /// Constructs an integer; throws troupe::error for an unsigned value above
  /// INT64_MAX.
  template<std::integral T>
  requires(!std::same_as<T, bool>) value(T i) : data_(checked_int(i)) {}
  /// Constructs a float.
  value(double d) noexcept : data_(d) {}
  /// Constructs a string (a copy of the characters up to the terminating zero).
  value(const char* s) : data_(std::string{s}) {}
  /// Constructs a string; binary safe.
  value(std::string s) noexcept : data_(std::move(s)) {}
  /// Constructs a string; binary safe.
  value(std::string_view s) : data_(std::string{s}) {}
  /// Constructs a handle: a script receives `w` as its worker handle.
  value(const worker& w);

  /// Copies (deeply).
  value(const value&) = default;
  /// Moves; `other` is left holding an empty container or its scalar.
  value(value&&) noexcept = default;
  /// Copies (deeply).
  value& operator=(const value&) = default;
  /// Moves.
  value& operator=(value&&) noexcept = default;
  /// Destroys the value without recursing into its nested containers, so a
  /// value of any depth can be destroyed.
  ~value();

  /// An array of the given elements: `value::array({1, 2.5, "x"})`.
  static value array(array_type elements = {});
  /// A map of the given entries: `value::map({{"id", "123"}, {"n", 4}})`.
  /// Throws troupe::type_error for a key that cannot be a key (nil, NaN, array,
  /// map) and for a key given twice.
  static value map(map_type entries = {});

  /// Which kind this value holds.
  kind type() const noexcept {
    return static_cast<kind>(data_.index());
  }
  /// True for nil.
  bool is_nil() const noexcept {
    return type() == kind::nil;
  }
  /// True for a boolean.
  bool is_bool() const noexcept {
    return type() == kind::boolean;
  }
  /// True for an integer.
  bool is_int() const noexcept {
    return type() == kind::integer;
  }
  /// True for a float.
  bool is_double() const noexcept {
    return type() == kind::floating;
  }
  /// True for an integer or a float.
  bool is_number() const noexcept {
    return is_int() || is_double();
  }
  /// True for a string.
  bool is_string() const noexcept {
    return type() == kind::string;
  }
  /// True for an array.
  bool is_array() const noexcept {
    return type() == kind::array;
  }
  /// True for a map.
  bool is_map() const noexcept {
    return type() == kind::map;
  }
  /// True for a handle.
  bool is_handle() const noexcept {
    return type() == kind::handle;
  }

  /// The boolean; throws troupe::type_error for any other kind.
  bool as_bool() const;
  /// The integer; throws troupe::type_error for any other kind (a float is not
  /// converted).
  std::int64_t as_int() const;
  /// The number as a double: a float, or an integer converted; throws
  /// troupe::type_error otherwise.
  double as_double() const;
  /// The string; throws troupe::type_error for any other kind.
  const std::string& as_string() const;
  /// The elements; throws troupe::type_error for any other kind.
  const array_type& as_array() const;
  /// The elements, mutable; throws troupe::type_error for any other kind.
  array_type& as_array();
  /// The entries, sorted by key; throws troupe::type_error for any other kind.
  const map_type& as_map() const;
  /// The worker a handle names; throws troupe::type_error for any other kind.
  const worker& as_worker() const;

  /// Map lookup: the value stored under `key`, nil when absent. Throws
  /// troupe::type_error unless a map.
  const value& operator[](const value& key) const;
  /// Stores `v` under `key` in a map (nil removes the key). Throws
  /// troupe::type_error unless a map, or for a key that cannot be a key.
  void set(value key, value v);
  /// Elements of an array, entries of a map, bytes of a string; 0 for the other
  /// kinds.
  std::size_t size() const noexcept;

  /// Deep equality; maps compare as sets of entries, floats by IEEE (NaN
  /// differs from itself).
  friend TROUPE_API bool operator==(const value& x, const value& y);

private:
  template<std::integral T>
  static std::int64_t checked_int(T i) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (i > static_cast<T>(INT64_MAX))
        throw_int_overflow(static_cast<std::uint64_t>(i));
    }
    return static_cast<std::int64_t>(i);
  }
  [[noreturn]] static void throw_int_overflow(std::uint64_t i);

  std::variant<std::monostate, bool, std::int64_t, double, std::string,
               array_type, map_type, std::shared_ptr<const worker>>
    data_;
};

/// A readable rendering: nil, true, 42, 2.5, "text", [1, 2], {"id": "123", "n":
/// 4}, worker: 7.
TROUPE_API std::string to_string(const value& v);

/// The name of a kind: "nil", "boolean", "integer", "float", "string", "array",
/// "map", "handle".
TROUPE_API const char* to_string(value::kind k) noexcept;

/// Writes to_string(v).
TROUPE_API std::ostream& operator<<(std::ostream& out, const value& v);

} // namespace troupe
