// The `host` table (see host_functions.hpp).
#include "lua_vm/host_functions.hpp"

#include "lua_vm/control.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::lua_vm {

namespace {

using entry = std::pair<const std::string, native_function>;

// Argument `i` as a value: scalars read in place (none of these reads can
// raise), anything else through msgpack. False, with the message in
// s.out, when it cannot be sent.
bool read_argument(lua_State* L, int i, const entry& f, host_scratch& s,
                   const host_functions& functions) {
  switch (lua_type(L, i)) {
    case LUA_TNIL: s.args.emplace_back(); return true;
    case LUA_TBOOLEAN:
      s.args.emplace_back(lua_toboolean(L, i) != 0);
      return true;
    case LUA_TNUMBER:
      if (lua_isinteger(L, i))
        s.args.emplace_back(static_cast<std::int64_t>(lua_tointeger(L, i)));
      else
        s.args.emplace_back(static_cast<double>(lua_tonumber(L, i)));
      return true;
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* p = lua_tolstring(L, i, &n);
      s.args.emplace_back(std::string_view{p, n});
      return true;
    }
    default: break;
  }
  if (!s.encoder.encode(L, i, s.sink)) {
    s.out = "host." + f.first + ": " + s.encoder.error().describe(i);
    return false;
  }
  s.args.push_back(
    serialization::decode_value(s.sink.view(), {}, &functions.values));
  return true;
}

// Calls `f` with the stack's arguments. Returns the number of results, their
// bytes in s.out, or -1 with the error's message there.
int call_host(lua_State* L, const entry& f,
              const serialization::lua_handles* handles) noexcept {
  control& c = control_of(L);
  try {
    if (!c.host_calls) c.host_calls = std::make_shared<host_scratch>();
  } catch (...) {
    return -2;
  }
  host_scratch& s = *c.host_calls;
  try {
    s.encoder.use_handles(handles);
    s.args.clear();
    int n = lua_gettop(L);
    for (int i = 1; i <= n; ++i)
      if (!read_argument(L, i, f, s, *c.functions)) return -1;
    std::vector<value> results;
    try {
      results = f.second(std::span<const value>{s.args});
    } catch (const std::exception& e) {
      s.out = "host." + f.first + ": " + e.what();
      s.args.clear();
      return -1;
    } catch (...) {
      s.out = "host." + f.first
              + ": an unknown exception (not a std::exception)";
      s.args.clear();
      return -1;
    }
    s.args.clear();
    try {
      serialization::encode_values(results, s.sink, {}, &c.functions->values);
    } catch (const std::exception& e) {
      s.out = "host." + f.first + ": cannot return its results: " + e.what();
      return -1;
    }
    s.out.assign(s.sink.view());
    return static_cast<int>(results.size());
  } catch (const std::bad_alloc&) {
    s.args.clear();
    return -2;
  } catch (const std::exception& e) {
    s.args.clear();
    try {
      s.out = "host." + f.first + ": " + e.what();
      return -1;
    } catch (...) {
      return -2;
    }
  }
}

// [-n, +r] host.NAME(...): upvalue 1 the function's entry, 2 the state's
// handles (or nil).
int l_host_call(lua_State* L) {
  const auto* f = static_cast<const entry*>(
    lua_touserdata(L, lua_upvalueindex(1)));
  const auto* handles = static_cast<const serialization::lua_handles*>(
    lua_touserdata(L, lua_upvalueindex(2)));
  control& c = control_of(L);
  if (!c.permissions.has(permission::host)) {
    c.denied = true;
    return luaL_error(L, "permission denied: host (host.%s)", f->first.c_str());
  }
  int n = call_host(L, *f, handles);
  if (n == -2) return luaL_error(L, "not enough memory");
  const std::string& out = c.host_calls->out;
  if (n < 0) {
    luaL_where(L, 1);
    lua_pushlstring(L, out.data(), out.size());
    lua_concat(L, 2);
    return lua_error(L);
  }
  lua_settop(L, 0);
  int count = 0;
  auto status = serialization::decode_values(L, out, {}, count, handles);
  if (!status) {
    char buf[128];
    return luaL_error(L, "host.%s: %s", f->first.c_str(),
                      serialization::describe(status, buf, sizeof buf));
  }
  return count;
}

} // namespace

void open_host_table(lua_State* L, const serialization::lua_handles* handles) {
  control& c = control_of(L);
  if (!c.permissions.has(permission::host)) return;
  const auto* table = c.functions != nullptr ? c.functions->table : nullptr;
  lua_createtable(L, 0, table != nullptr ? static_cast<int>(table->size()) : 0);
  if (table != nullptr) {
    for (const auto& f : *table) {
      lua_pushlightuserdata(L, const_cast<entry*>(&f));
      lua_pushlightuserdata(L,
                            const_cast<serialization::lua_handles*>(handles));
      lua_pushcclosure(L, l_host_call, 2);
      lua_pushlstring(L, f.first.data(), f.first.size());
      lua_insert(L, -2);
      lua_rawset(L, -3);
    }
  }
  lua_setglobal(L, "host");
}

} // namespace troupe::lua_vm
