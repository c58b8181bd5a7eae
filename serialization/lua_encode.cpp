// Lua value -> msgpack (see lua_codec.hpp). A table is first walked optimistically as an array: lua_next visits a
// proper sequence's array part in order 1..n, so one pass both checks and writes it. When the keys stray from
// that order the table is rewritten from its start, as a map, or as an array after a check that its keys are
// exactly 1..n (a sequence that lives in the hash part).
#include <cmath>
#include <cstdio>
#include <new>

#include "serialization/lua_codec.hpp"
#include "serialization/msgpack_writer.hpp"

namespace troupe::serialization {

namespace {

bool is_identifier(const char* s, std::size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
    return false;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

// The path segment for the key at `idx`: `name`, `[3]`, `[2.5]`, `[true]` or `["a b"]`.
std::string key_segment(lua_State* L, int idx) {
  char buf[64];
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      if (is_identifier(s, n))
        return std::string{s, n};
      std::string out = "[\"";
      for (std::size_t i = 0; i < n && i < 40; ++i)
        out += (s[i] == '"' || static_cast<unsigned char>(s[i]) < 0x20) ? '?' : s[i];
      return out + (n > 40 ? "...\"]" : "\"]");
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx))
        std::snprintf(buf, sizeof buf, "[%lld]", static_cast<long long>(lua_tointeger(L, idx)));
      else
        std::snprintf(buf, sizeof buf, "[%.14g]", lua_tonumber(L, idx));
      return buf;
    case LUA_TBOOLEAN:
      return lua_toboolean(L, idx) ? "[true]" : "[false]";
    default:
      return "[?]";
  }
}

const char* type_phrase(int type) {
  switch (type) {
    case LUA_TFUNCTION:
      return "a function";
    case LUA_TUSERDATA:
      return "a userdata";
    case LUA_TLIGHTUSERDATA:
      return "a light userdata";
    case LUA_TTHREAD:
      return "a thread";
    case LUA_TTABLE:
      return "a table";
    default:
      return "a value of unknown type";
  }
}

} // namespace

// One encoding pass: the state, the sink and the running counts. Recursion depth is bounded by max_depth.
struct lua_encoder::walk {
  lua_encoder& self;
  lua_State* L;
  byte_sink& out;
  packer pk;
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
    if (!path.empty() && path[0] != '[')
      seg += '.';
    path.insert(0, seg);
    return false;
  }

  bool count_element() {
    return ++elements <= self.limits_.max_elements || fail(encode_problem::too_many);
  }

  bool sink_ok() {
    switch (out.failed()) {
      case byte_sink::failure::none:
        return true;
      case byte_sink::failure::too_large:
        return fail(encode_problem::too_large);
      default:
        return fail(encode_problem::no_memory);
    }
  }

  bool value(int idx, std::size_t depth) {
    if (!count_element())
      return false;
    switch (lua_type(L, idx)) {
      case LUA_TNIL:
        pk.pack_nil();
        return true;
      case LUA_TBOOLEAN:
        lua_toboolean(L, idx) ? pk.pack_true() : pk.pack_false();
        return true;
      case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
          pk.pack_int64(lua_tointeger(L, idx));
        else
          write_float64(out, lua_tonumber(L, idx));
        return true;
      case LUA_TSTRING: {
        std::size_t n = 0;
        const char* s = lua_tolstring(L, idx, &n);
        if (n > UINT32_MAX)
          return fail(encode_problem::too_large);
        pk.pack_str(static_cast<std::uint32_t>(n));
        pk.pack_str_body(s, static_cast<std::uint32_t>(n));
        return sink_ok();
      }
      case LUA_TTABLE:
        return table(lua_absindex(L, idx), depth + 1);
      default:
        return fail(encode_problem::bad_type, lua_type(L, idx));
    }
  }

  bool key(int idx) {
    int type = lua_type(L, idx);
    if (type != LUA_TNUMBER && type != LUA_TSTRING && type != LUA_TBOOLEAN)
      return fail(encode_problem::bad_key, type);
    return value(idx, 0);
  }

  bool table(int idx, std::size_t depth) {
    if (depth > self.limits_.max_depth)
      return fail(encode_problem::too_deep);
    const void* id = lua_topointer(L, idx);
    for (const void* a : self.ancestors_)
      if (a == id)
        return fail(encode_problem::cycle);
    if (!lua_checkstack(L, 4))
      return fail(encode_problem::no_memory);
    self.ancestors_.push_back(id);
    bool ok = sequence_or_other(idx, depth);
    self.ancestors_.pop_back();
    return ok;
  }

  bool sequence_or_other(int idx, std::size_t depth) {
    std::size_t start = out.size();
    std::size_t elements_before = elements;
    auto hint = static_cast<std::uint32_t>(std::min<lua_Unsigned>(lua_rawlen(L, idx), UINT32_MAX));
    std::size_t reserved = header_size(hint);
    out.write("\0\0\0\0\0", reserved);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) != n + 1) {
        bool maybe_sequence = lua_isinteger(L, -2);
        lua_pop(L, 2);
        out.truncate(start);
        elements = elements_before;
        if (maybe_sequence && is_sequence(idx, n))
          return array_by_index(idx, depth, n);
        return map(idx, depth);
      }
      ++n;
      if (!value(-1, depth)) {
        fail_below(-2);
        lua_pop(L, 2);
        return false;
      }
      lua_pop(L, 1);
    }
    if (n > UINT32_MAX)
      return fail(encode_problem::too_many);
    return fix_header(out, start, reserved, n == 0, static_cast<std::uint32_t>(n)) && sink_ok();
  }

  // Whether the keys are exactly 1..n, counting them into n.
  bool is_sequence(int idx, lua_Integer& n) {
    lua_Integer count = 0;
    lua_Integer max = 0;
    bool all_integers = true;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      lua_pop(L, 1);
      ++count;
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
        all_integers = false;
      else if (lua_tointeger(L, -1) > max)
        max = lua_tointeger(L, -1);
    }
    n = count;
    return all_integers && max == count;
  }

  bool array_by_index(int idx, std::size_t depth, lua_Integer n) {
    if (n > UINT32_MAX)
      return fail(encode_problem::too_many);
    pk.pack_array(static_cast<std::uint32_t>(n));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, idx, i);
      if (!value(-1, depth)) {
        lua_pop(L, 1);
        lua_pushinteger(L, i);
        fail_below(-1);
        lua_pop(L, 1);
        return false;
      }
      lua_pop(L, 1);
    }
    return sink_ok();
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
    if (n > UINT32_MAX)
      return fail(encode_problem::too_many);
    return fix_header(out, start, 1, true, static_cast<std::uint32_t>(n)) && sink_ok();
  }
};

lua_encoder::lua_encoder(limits lim) : limits_(lim) {
  ancestors_.reserve(std::min<std::size_t>(lim.max_depth, 128));
}

bool lua_encoder::encode(lua_State* L, int idx, byte_sink& out) noexcept {
  return encode_values(L, idx, -1, out);
}

bool lua_encoder::encode_values(lua_State* L, int first, int count, byte_sink& out) noexcept {
  error_ = encode_error{};
  ancestors_.clear();
  out.reset(limits_.max_bytes);
  first = lua_absindex(L, first);
  try {
    walk w{*this, L, out, packer{out}};
    if (count < 0)
      return w.value(first, 0) && w.sink_ok();
    w.pk.pack_array(static_cast<std::uint32_t>(count));
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
  if (!path.empty())
    out += " (field '" + path + "')";
  switch (problem) {
    case encode_problem::none:
      return out + " is fine";
    case encode_problem::bad_type:
      return out + " is " + type_phrase(lua_type)
             + "; only nil, booleans, numbers, strings and tables can be sent";
    case encode_problem::bad_key:
      return out + " has " + type_phrase(lua_type) + " as a key; only booleans, numbers and strings can be keys";
    case encode_problem::cycle:
      return out + " is a table that contains itself; cycles cannot be sent";
    case encode_problem::too_deep:
      return out + " nests tables too deeply (the depth limit is reached)";
    case encode_problem::too_large:
      return out + " is too large to send (the message size limit is reached)";
    case encode_problem::too_many:
      return out + " has too many elements to send (the element limit is reached)";
    case encode_problem::no_memory:
      return out + " could not be encoded: not enough memory";
  }
  return out;
}

} // namespace troupe::serialization
