// Lua value -> msgpack (see lua_codec.hpp). Tables are walked with the raw API
// only (no metamethod runs), and the stack grows by at most two slots a level,
// checked with lua_checkstack.
#include <cmath>
#include <cstdio>
#include <new>

#include "serialization/lua_codec.hpp"
#include "serialization/msgpack_writer.hpp"
#include "serialization/stack_check.hpp"

namespace troupe::serialization {

namespace {

bool is_identifier(const char* s, std::size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

// The path segment for the key at `idx`: `name`, `[3]`, `[2.5]`, `[true]` or
// `["a b"]`.
std::string key_segment(lua_State* L, int idx) {
  char buf[64];
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      if (is_identifier(s, n)) return std::string{s, n};
      std::string out = "[\"";
      for (std::size_t i = 0; i < n && i < 40; ++i)
        out += (s[i] == '"' || static_cast<unsigned char>(s[i]) < 0x20) ? '?'
                                                                        : s[i];
      return out + (n > 40 ? "...\"]" : "\"]");
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx))
        std::snprintf(buf, sizeof buf, "[%lld]",
                      static_cast<long long>(lua_tointeger(L, idx)));
      else
        std::snprintf(buf, sizeof buf, "[%.14g]", lua_tonumber(L, idx));
      return buf;
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? "[true]" : "[false]";
    default: return "[?]";
  }
}

const char* type_phrase(int type) {
  switch (type) {
    case LUA_TFUNCTION: return "a function";
    case LUA_TUSERDATA: return "a userdata";
    case LUA_TLIGHTUSERDATA: return "a light userdata";
    case LUA_TTHREAD: return "a thread";
    case LUA_TTABLE: return "a table";
    default: return "a value of unknown type";
  }
}

} // namespace

// One encoding pass: the state, the sink and the running counts. Recursion
// depth is bounded by max_depth.
struct lua_encoder::walk {
  lua_encoder& self;
  lua_State* L;
  byte_sink& out;
  std::size_t elements = 0;

  bool fail(encode_problem p, int type = LUA_TNONE) {
    self.error_.problem = p;
    self.error_.lua_type = type;
    return false;
  }

  // Adds the key at `key_idx` in front of the error's path while unwinding.
  bool fail_below(int key_idx) {
    std::string seg = key_segment(L, key_idx);
    std::string& path = self.error_.path;
    if (!path.empty() && path[0] != '[') seg += '.';
    path.insert(0, seg);
    return false;
  }

  bool count_element() {
    return ++elements <= self.limits_.max_elements
           || fail(encode_problem::too_many);
  }

  bool sink_ok() {
    switch (out.failed()) {
      case byte_sink::failure::none: return true;
      case byte_sink::failure::too_large:
        return fail(encode_problem::too_large);
      default: return fail(encode_problem::no_memory);
    }
  }

  bool value(int idx, std::size_t depth) {
    return typed_value(idx, lua_type(L, idx), depth);
  }

  // The value at `idx`, whose Lua type the caller already knows.
  bool typed_value(int idx, int type, std::size_t depth) {
    if (!count_element()) return false;
    switch (type) {
      case LUA_TNIL: write_nil(out); return true;
      case LUA_TBOOLEAN: write_bool(out, lua_toboolean(L, idx)); return true;
      case LUA_TNUMBER: number(idx); return true;
      case LUA_TSTRING: {
        std::size_t n = 0;
        const char* s = lua_tolstring(L, idx, &n);
        if (n > self.limits_.max_bytes) return fail(encode_problem::too_large);
        write_str(out, s, n);
        return sink_ok();
      }
      case LUA_TTABLE: return table(lua_absindex(L, idx), depth + 1);
      case LUA_TUSERDATA: return handle(idx);
      default: return fail(encode_problem::bad_type, type);
    }
  }

  bool handle(int idx) {
    const lua_handles* h = self.handles_;
    address a;
    if (h == nullptr || h->read == nullptr || !h->read(L, idx, h->context, a))
      return fail(encode_problem::bad_type, LUA_TUSERDATA);
    write_address(out, h->tag, a);
    return sink_ok();
  }

  // A fractional float needs one call into Lua; an integer, whose subtype must
  // be asked, two (three beyond 2^53, where the double no longer holds it
  // exactly).
  void number(int idx) {
    double d = lua_tonumberx(L, idx, nullptr);
    double a = std::fabs(d);
    // Every double from 2^52 up is integral; NaN and infinities fail both
    // tests.
    bool maybe_integer = a < 0x1p52
                           ? static_cast<double>(static_cast<std::int64_t>(d))
                               == d
                           : a <= 0x1p63;
    if (!maybe_integer || !lua_isinteger(L, idx))
      write_float(out, d);
    else if (a < 0x1p53)
      write_int(out, static_cast<std::int64_t>(d));
    else
      write_int(out, lua_tointeger(L, idx));
  }

  bool key(int idx) {
    int type = lua_type(L, idx);
    if (type != LUA_TNUMBER && type != LUA_TSTRING && type != LUA_TBOOLEAN)
      return fail(encode_problem::bad_key, type);
    return typed_value(idx, type, 0);
  }

  bool table(int idx, std::size_t depth) {
    if (depth > self.limits_.max_depth) return fail(encode_problem::too_deep);
    const void* id = lua_topointer(L, idx);
    for (const void* a : self.ancestors_)
      if (a == id) return fail(encode_problem::cycle);
    if (!lua_checkstack(L, 4)) return fail(encode_problem::no_memory);
    self.ancestors_.push_back(id);
    bool ok = array_or_map(idx, depth);
    self.ancestors_.pop_back();
    return ok;
  }

  // A table is an array when t[1..n] are all present, n being its length, and
  // it has no other key. The elements are written by index as they are checked;
  // the key count decides at the end, and a table that is not an array after
  // all is rewritten from its start as a map.
  bool array_or_map(int idx, std::size_t depth) {
    lua_Unsigned n = lua_rawlen(L, idx);
    if (n == 0 || n > UINT32_MAX) return map(idx, depth);
    std::size_t start = out.size();
    std::size_t elements_before = elements;
    write_header(out, false, static_cast<std::uint32_t>(n));
    for (lua_Unsigned first = 1; first <= n; first += batch) {
      lua_Unsigned last = std::min<lua_Unsigned>(n, first + batch - 1);
      if (!fetch_and_write(idx, first, last, depth)) {
        if (self.error_.problem != encode_problem::none) return false;
        return rewrite_as_map(idx, depth, start, elements_before);
      }
    }
    bool more = false;
    switch (n >= probe_threshold ? probe_after_border(idx, n)
                                 : probe::unknown) {
      case probe::more: more = true; break;
      case probe::no_more: break;
      case probe::unknown: more = has_more_keys_than(idx, n); break;
    }
    if (more) return rewrite_as_map(idx, depth, start, elements_before);
    return sink_ok();
  }

  // Proving that t[1..n] are the only keys normally costs a traversal (two
  // calls into Lua per key), the one step the public API offers. Lua 5.4's
  // next() continues from an integer key inside the array part whether or not
  // that slot is occupied, and raises for any other key it cannot find. So,
  // t[n+1] being nil, a protected next(t, n+1) that succeeds proves n+1 lies in
  // the array part, hence 1..n do too, and its result says whether any key
  // follows. When it raises (the array part ends at n or earlier), the
  // traversal decides. A Lua that changed this behaviour would raise here, and
  // the traversal would still decide correctly; tests/lua_codec_test pins the
  // behaviour relied on.
  enum class probe { no_more, more, unknown };
  static constexpr lua_Unsigned probe_threshold = 64;

  static int next_after(lua_State* L) {
    if (lua_next(L, 1) == 0) lua_pushnil(L);
    return 1;
  }

  probe probe_after_border(int idx, lua_Unsigned n) {
    lua_pushcfunction(L, next_after);
    lua_pushvalue(L, idx);
    lua_pushinteger(L, static_cast<lua_Integer>(n + 1));
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
      lua_pop(L, 1);
      return probe::unknown;
    }
    bool more = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return more ? probe::more : probe::no_more;
  }

  // Elements are fetched `batch` at a time so the stack is reset once per
  // batch, not once per element.
  static constexpr int batch = 32;

  // Writes t[first..last]. False with an error set when an element cannot be
  // sent; false without one (and the stack as it was) when an element is nil,
  // i.e. the table is no array.
  bool fetch_and_write(int idx, lua_Unsigned first, lua_Unsigned last,
                       std::size_t depth) {
    int base = lua_gettop(L);
    int types[batch];
    int count = static_cast<int>(last - first + 1);
    if (!lua_checkstack(L, count + 2)) return fail(encode_problem::no_memory);
    for (int k = 0; k < count; ++k)
      types[k] = lua_rawgeti(L, idx, static_cast<lua_Integer>(first) + k);
    for (int k = 0; k < count; ++k) {
      if (types[k] == LUA_TNIL) {
        lua_settop(L, base);
        return false;
      }
      if (!typed_value(base + 1 + k, types[k], depth)) {
        lua_pushinteger(L, static_cast<lua_Integer>(first) + k);
        fail_below(-1);
        lua_settop(L, base);
        return false;
      }
    }
    lua_settop(L, base);
    return true;
  }

  bool has_more_keys_than(int idx, lua_Unsigned n) {
    lua_Unsigned count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      lua_pop(L, 1);
      if (++count > n) {
        lua_pop(L, 1);
        return true;
      }
    }
    return false;
  }

  bool rewrite_as_map(int idx, std::size_t depth, std::size_t start,
                      std::size_t elements_before) {
    out.truncate(start);
    elements = elements_before;
    return map(idx, depth);
  }

  bool map(int idx, std::size_t depth) {
    std::size_t start = out.size();
    out.write("", 1);
    std::uint64_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      if (!key(-2)) {
        lua_pop(L, 2);
        return false;
      }
      if (!value(-1, depth)) {
        fail_below(-2);
        lua_pop(L, 2);
        return false;
      }
      lua_pop(L, 1);
      ++n;
    }
    if (n > UINT32_MAX) return fail(encode_problem::too_many);
    return fix_header(out, start, 1, true, static_cast<std::uint32_t>(n))
           && sink_ok();
  }
};

lua_encoder::lua_encoder(limits lim) : limits_(lim) {}

bool lua_encoder::encode(lua_State* L, int idx, byte_sink& out) noexcept {
  return encode_values(L, idx, -1, out);
}

bool lua_encoder::encode_values(lua_State* L, int first, int count,
                                byte_sink& out) noexcept {
  TROUPE_STACK_EFFECT(L, 0);
  error_ = encode_error{};
  ancestors_.clear();
  out.reset(limits_.max_bytes);
  first = lua_absindex(L, first);
  try {
    walk w{*this, L, out};
    if (count < 0) return w.value(first, 0) && w.sink_ok();
    write_header(out, false, static_cast<std::uint32_t>(count));
    for (int i = 0; i < count; ++i) {
      if (!w.value(first + i, 0)) {
        error_.index = i + 1;
        return false;
      }
    }
    return w.sink_ok();
  } catch (const std::bad_alloc&) {
    error_.problem = encode_problem::no_memory;
    return false;
  }
}

std::string encode_error::describe(int first_argument) const {
  std::string out = "argument #" + std::to_string(index + first_argument - 1);
  if (!path.empty()) out += " (field '" + path + "')";
  switch (problem) {
    case encode_problem::none: return out + " is fine";
    case encode_problem::bad_type:
      return out + " is " + type_phrase(lua_type)
             + "; only nil, booleans, numbers, strings and tables can be sent";
    case encode_problem::bad_key:
      return out + " has " + type_phrase(lua_type)
             + " as a key; only booleans, numbers and strings can be keys";
    case encode_problem::cycle:
      return out + " is a table that contains itself; cycles cannot be sent";
    case encode_problem::too_deep:
      return out + " nests tables too deeply (the depth limit is reached)";
    case encode_problem::too_large:
      return out + " is too large to send (the message size limit is reached)";
    case encode_problem::too_many:
      return out
             + " has too many elements to send (the element limit is reached)";
    case encode_problem::no_memory:
      return out + " could not be encoded: not enough memory";
  }
  return out;
}

} // namespace troupe::serialization
