// worker.shared(NAME): a runtime's shared dict (dict_store.hpp) as a userdata
// with OpenResty's methods and return conventions (`ok, err, forcible`), for
// states holding the permission "shared". One userdata per dict per state.
// Each method is a shell over dict_arguments.hpp: it reads its arguments, runs
// the store's operation in a noexcept helper, then pushes the results. Pool
// jobs get worker.shared alone (open_job_dicts).
#include "lua_vm/worker_dicts.hpp"

#include "lua_vm/dict_arguments.hpp"
#include "lua_vm/sandbox.hpp"
#include "lua_vm/worker_calls.hpp"

namespace troupe::lua_vm {

namespace {

using namespace dict_detail;

constexpr const char* cache_key = "troupe.shared_dicts";
using kind = dict_scalar::kind;

int store(lua_State* L, dict_store_mode mode) {
  dict_store& d = check_dict(L);
  const char* why = nullptr;
  std::string_view key = check_key(L, why);
  dict_scalar_view v = check_value(L, 3, true);
  clock::duration ttl = check_ttl(L, 4);
  if (why != nullptr) {
    lua_pushboolean(L, false);
    lua_pushstring(L, why);
    return 2;
  }
  dict_outcome o;
  if (!run([&] { o = d.store(mode, key, v, ttl); })) return out_of_memory(L);
  return push_outcome(L, o);
}

int l_get(lua_State* L) {
  dict_store& d = check_dict(L);
  const char* why = nullptr;
  std::string_view key = check_key(L, why);
  return on_key(
    L, why, [&] { return d.get(key, scratch_to_fill()); },
    [&] { return push_scratch(L); });
}

int l_set(lua_State* L) {
  return store(L, dict_store_mode::set);
}

int l_safe_set(lua_State* L) {
  return store(L, dict_store_mode::safe_set);
}

int l_add(lua_State* L) {
  return store(L, dict_store_mode::add);
}

int l_safe_add(lua_State* L) {
  return store(L, dict_store_mode::safe_add);
}

int l_replace(lua_State* L) {
  return store(L, dict_store_mode::replace);
}

int l_delete(lua_State* L) {
  lua_settop(L, 2);
  lua_pushnil(L);
  return store(L, dict_store_mode::set);
}

// dict:incr(key, n, init, init_ttl) -> newval, err, forcible
int l_incr(lua_State* L) {
  dict_store& d = check_dict(L);
  const char* why = nullptr;
  std::string_view key = check_key(L, why);
  dict_scalar_view by = check_number(L, 3);
  bool has_init = !lua_isnoneornil(L, 4);
  dict_scalar_view init = has_init ? check_number(L, 4) : dict_scalar_view{};
  clock::duration init_ttl = check_ttl(L, 5);
  if (why != nullptr) return fail(L, why);
  dict_outcome o;
  if (!run([&] {
        o = d.incr(key, by, has_init ? &init : nullptr, init_ttl,
                   scratch_to_fill());
      }))
    return out_of_memory(L);
  if (o.error != dict_error::none) return fail(L, dict_error_text(o.error));
  push_scalar(L, scratch());
  lua_pushnil(L);
  lua_pushboolean(L, o.forcible);
  return 3;
}

int l_ttl(lua_State* L) {
  dict_store& d = check_dict(L);
  const char* why = nullptr;
  std::string_view key = check_key(L, why);
  double seconds = 0;
  return on_key(
    L, why, [&] { return d.ttl(key, seconds); },
    [&] {
      lua_pushnumber(L, seconds);
      return 1;
    });
}

int l_expire(lua_State* L) {
  dict_store& d = check_dict(L);
  const char* why = nullptr;
  std::string_view key = check_key(L, why);
  clock::duration ttl = check_ttl(L, 3);
  return on_key(
    L, why, [&] { return d.expire(key, ttl); },
    [&] {
      lua_pushboolean(L, true);
      return 1;
    });
}

// dict:get_keys(max): a list of up to max keys (OpenResty's default 1024; 0:
// all).
int l_get_keys(lua_State* L) {
  dict_store& d = check_dict(L);
  lua_Integer max = luaL_optinteger(L, 2, 1024);
  luaL_argcheck(L, max >= 0, 2, "non-negative count expected");
  // The keys are copied into a table one by one from a list the store made:
  // the list lives in a userdata so a memory error while they are pushed
  // frees it.
  auto* keys = static_cast<std::vector<std::string>*>(
    lua_newuserdatauv(L, sizeof(std::vector<std::string>), 0));
  if (!run([&] {
        new (keys)
          std::vector<std::string>(d.keys(static_cast<std::size_t>(max)));
      }))
    return out_of_memory(L);
  luaL_setmetatable(L, "troupe.key_list");
  lua_createtable(L, static_cast<int>(keys->size()), 0);
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const std::string& k = (*keys)[i];
    lua_pushlstring(L, k.data(), k.size());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

int key_list_gc(lua_State* L) {
  using list = std::vector<std::string>;
  static_cast<list*>(lua_touserdata(L, 1))->~list();
  return 0;
}

int l_flush_all(lua_State* L) {
  dict_store& d = check_dict(L);
  if (!run([&] { d.flush_all(); })) return out_of_memory(L);
  return 0;
}

int l_flush_expired(lua_State* L) {
  dict_store& d = check_dict(L);
  lua_Integer max = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, max >= 0, 2, "non-negative count expected");
  std::size_t freed = 0;
  if (!run([&] { freed = d.flush_expired(static_cast<std::size_t>(max)); }))
    return out_of_memory(L);
  lua_pushinteger(L, static_cast<lua_Integer>(freed));
  return 1;
}

int l_capacity(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(check_dict(L).capacity()));
  return 1;
}

int l_free_space(lua_State* L) {
  dict_store& d = check_dict(L);
  std::size_t free = 0;
  if (!run([&] { free = d.free_space(); })) return out_of_memory(L);
  lua_pushinteger(L, static_cast<lua_Integer>(free));
  return 1;
}

int push(lua_State* L, bool front) {
  dict_store& d = check_dict(L);
  const char* why = nullptr;
  std::string_view key = check_key(L, why);
  dict_scalar_view v = check_value(L, 3, false);
  if (why != nullptr) return fail(L, why);
  std::size_t length = 0;
  dict_outcome o;
  if (!run([&] { o = d.push(key, front, v, length); })) return out_of_memory(L);
  if (o.error != dict_error::none) return fail(L, dict_error_text(o.error));
  lua_pushinteger(L, static_cast<lua_Integer>(length));
  return 1;
}

int pop(lua_State* L, bool front) {
  dict_store& d = check_dict(L);
  const char* why = nullptr;
  std::string_view key = check_key(L, why);
  return on_key(
    L, why, [&] { return d.pop(key, front, scratch_to_fill()); },
    [&] { return push_scratch(L); });
}

int l_lpush(lua_State* L) {
  return push(L, true);
}

int l_rpush(lua_State* L) {
  return push(L, false);
}

int l_lpop(lua_State* L) {
  return pop(L, true);
}

int l_rpop(lua_State* L) {
  return pop(L, false);
}

int l_llen(lua_State* L) {
  dict_store& d = check_dict(L);
  const char* why = nullptr;
  std::string_view key = check_key(L, why);
  std::size_t length = 0;
  return on_key(
    L, why, [&] { return d.length(key, length); },
    [&] {
      lua_pushinteger(L, static_cast<lua_Integer>(length));
      return 1;
    });
}

int dict_tostring(lua_State* L) {
  lua_pushfstring(L, "worker.shared: %p", lua_touserdata(L, 1));
  return 1;
}

// [-0, +0] Makes the dicts' metatable (and the key lists') on first use.
void open_dict_type(lua_State* L) {
  if (luaL_getmetatable(L, dict_type) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  static const luaL_Reg methods[] = {
    {"get", l_get},
    {"set", l_set},
    {"safe_set", l_safe_set},
    {"add", l_add},
    {"safe_add", l_safe_add},
    {"replace", l_replace},
    {"delete", l_delete},
    {"incr", l_incr},
    {"ttl", l_ttl},
    {"expire", l_expire},
    {"get_keys", l_get_keys},
    {"flush_all", l_flush_all},
    {"flush_expired", l_flush_expired},
    {"capacity", l_capacity},
    {"free_space", l_free_space},
    {"lpush", l_lpush},
    {"rpush", l_rpush},
    {"lpop", l_lpop},
    {"rpop", l_rpop},
    {"llen", l_llen},
    {nullptr, nullptr},
  };
  make_userdata_type(L, dict_type, dict_tostring, nullptr);
  luaL_getmetatable(L, dict_type);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, "troupe.key_list");
  lua_pushcfunction(L, key_list_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}

// worker.shared(name): the dict, nil when the runtime declares none by that
// name.
int l_shared(lua_State* L) {
  if (lua_type(L, 1) != LUA_TSTRING) luaL_typeerror(L, 1, "string");
  const char* name = lua_tostring(L, 1);
  control& c = control_of(L);
  if (!c.permissions.has(permission::shared)) {
    c.denied = true;
    return luaL_error(L, "permission denied: shared (worker.shared \"%s\")",
                      name);
  }
  dict_store* store = nullptr;
  if (c.dicts != nullptr) {
    auto i = c.dicts->find(std::string_view{name});
    if (i != c.dicts->end()) store = i->second.get();
  }
  if (store == nullptr) {
    lua_pushnil(L);
    return 1;
  }
  luaL_getsubtable(L, LUA_REGISTRYINDEX, cache_key);
  if (lua_getfield(L, -1, name) == LUA_TUSERDATA) return 1;
  lua_pop(L, 1);
  open_dict_type(L);
  auto* h = static_cast<dict_handle*>(
    lua_newuserdatauv(L, sizeof(dict_handle), 0));
  h->store = store;
  luaL_setmetatable(L, dict_type);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name);
  return 1;
}

} // namespace

void open_job_dicts(lua_State* L) {
  if (!control_of(L).permissions.has(permission::shared)) return;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, l_shared);
  lua_setfield(L, -2, "shared");
  lua_setglobal(L, "worker");
}

namespace worker_detail {

const luaL_Reg dict_functions[] = {
  {"shared", l_shared},
  {nullptr, nullptr},
};

} // namespace worker_detail

} // namespace troupe::lua_vm
