// Lua values <-> msgpack. The encoder walks a value on one state's stack and
// writes msgpack bytes; the decoder reads bytes and pushes the value onto
// another state's stack. Between them, a value crosses states as a deep copy:
// integers stay integers, floats stay floats, strings are binary safe, a table
// whose keys are exactly 1..n becomes an array and any other table a map (the
// empty table an empty map). Metatables are not copied; a table reached twice
// is copied twice; functions, userdata, threads, table keys and cycles are
// rejected, naming the path to the offending value. A state that knows
// handles (lua_handles) sends its handle userdata as addresses and receives
// addresses as its userdata (address.hpp).
//
// Longjmp safety: encoding raises no Lua error (it only reads the stack and
// grows it with lua_checkstack), so it may use C++ freely. Decoding allocates
// Lua objects and can raise a Lua memory error, so the decoder holds nothing
// with a destructor and reports its own failures as a status for its caller to
// raise.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <lua.hpp>

#include "serialization/byte_sink.hpp"
#include "serialization/limits.hpp"
#include "serialization/reader.hpp"

namespace troupe::serialization {

/// How one state's handles cross: the tag its runtime's handles carry, and
/// the state's own side (its userdata). Without one, handles are refused both
/// ways.
struct lua_handles {
  /// The runtime's tag (address.hpp).
  std::uint64_t tag = 0;
  /// Passed to the functions below.
  void* context = nullptr;
  /// [-0, +1, m] Pushes the handle userdata for `a`.
  void (*push)(lua_State* L, void* context, const address& a) = nullptr;
  /// [-0, +0] Whether the userdata at `idx` is a handle; if so, its address.
  bool (*read)(lua_State* L, int idx, void* context, address& out) = nullptr;
};

/// Why a Lua value could not be encoded.
enum class encode_problem : std::uint8_t {
  none,
  bad_type, ///< a function, userdata or thread
  bad_key, ///< a table key that is a table, function, userdata or thread
  cycle, ///< a table that contains itself
  too_deep, ///< nesting beyond limits::max_depth
  too_large, ///< beyond limits::max_bytes
  too_many, ///< beyond limits::max_elements
  no_memory, ///< the encoder's own memory ran out
};

/// What went wrong, and where.
struct encode_error {
  /// The kind of problem.
  encode_problem problem = encode_problem::none;
  /// The Lua type of the offending value or key (LUA_TNONE when not
  /// applicable).
  int lua_type = LUA_TNONE;
  /// Which of the values given to encode_values (1-based; 1 for encode).
  int index = 1;
  /// Path from the encoded value to the offender, e.g. `a.b[3]`; empty for the
  /// value itself.
  std::string path;

  /// "argument #N (field 'a.b') is a function; only nil, booleans, numbers,
  /// strings and tables can be sent", where N is `index + first_argument - 1`.
  std::string describe(int first_argument) const;
};

/// Encodes Lua values into msgpack. Reusable; keeps its scratch between calls.
class lua_encoder {
public:
  /// An encoder applying `lim`.
  explicit lua_encoder(limits lim = {});

  /// Sends handle userdata as `handles` says (nullptr: refuses them). The
  /// encoder keeps the pointer.
  void use_handles(const lua_handles* handles) noexcept {
    handles_ = handles;
  }
  /// The handles in use, or nullptr.
  const lua_handles* handles() const noexcept {
    return handles_;
  }

  /// [-0, +0] Encodes the value at `idx` into `out` (emptied first). False on
  /// failure; see error().
  bool encode(lua_State* L, int idx, byte_sink& out) noexcept;

  /// [-0, +0] Encodes `count` values starting at `first` as one msgpack array
  /// (nil allowed among them).
  bool encode_values(lua_State* L, int first, int count,
                     byte_sink& out) noexcept;

  /// The failure of the last call that returned false.
  const encode_error& error() const noexcept {
    return error_;
  }

  /// The limits applied.
  const limits& limits_applied() const noexcept {
    return limits_;
  }

private:
  struct walk;
  limits limits_;
  const lua_handles* handles_ = nullptr;
  encode_error error_;
  std::vector<const void*> ancestors_;
};

/// Outcome of a decode: read_error::none, or the problem and the byte offset
/// where it was found.
struct decode_status {
  /// What went wrong, or none.
  read_error error = read_error::none;
  /// Offset of the offending item in the input.
  std::size_t offset = 0;

  /// True when decoding succeeded.
  explicit operator bool() const noexcept {
    return error == read_error::none;
  }
};

/// [-0, +1|0] Decodes one value from `bytes` and pushes it (on failure pushes
/// nothing); handles become userdata through `handles` (nullptr: refused).
/// Raises only a Lua memory error, by longjmp: call it where one may be raised
/// (inside a protected call or a coroutine).
decode_status decode(lua_State* L, std::string_view bytes, const limits& lim,
                     const lua_handles* handles = nullptr);

/// [-0, +n|0] Decodes a msgpack array (as encode_values wrote it) and pushes
/// its n elements; `count` receives n.
decode_status decode_values(lua_State* L, std::string_view bytes,
                            const limits& lim, int& count,
                            const lua_handles* handles = nullptr);

/// Writes "malformed message at byte N: <problem>" into `buf` (trivially
/// destructible, for use before a Lua error is raised) and returns buf.
const char* describe(const decode_status& status, char* buf,
                     std::size_t size) noexcept;

} // namespace troupe::serialization
