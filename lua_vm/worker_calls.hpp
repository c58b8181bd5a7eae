// Internal to the worker module: the helpers its two files share
// (worker_module.cpp: handles, create, send and the rest; worker_waits.cpp: the
// calls that wait) and the waiting calls the module registers. Every function
// taking a lua_State follows Lua's rules: it may raise (by longjmp), so no
// caller may hold a C++ object with a destructor across it.
#pragma once

#include <string>
#include <string_view>

#include <lua.hpp>

#include "lua_vm/worker_context.hpp"

namespace troupe::lua_vm::worker_detail {

/// Registry name of the handle metatable (and the type named in argument
/// errors).
inline constexpr const char* handle_type = "worker";
/// Registry name of the metatable of the error tables raised by receive.
inline constexpr const char* error_type = "troupe.worker_error";

/// A worker handle's userdata.
struct handle {
  worker_id id;
};

/// The context of the worker whose state `L` belongs to.
worker_context& context_of(lua_State* L);
/// The id of the child handle at `arg`; raises for anything else.
worker_id check_child(lua_State* L, int arg);
/// Raises the state's stop (cancel, limit) if one arrived while it was
/// suspended.
void raise_if_stopped(lua_State* L);
/// Raises when no yield from `L` can reach the actor.
void check_can_wait(lua_State* L, const char* fn);
/// Yields to the actor (through the script's own coroutines) with continuation
/// `k`.
int host_yield(lua_State* L, lua_KContext context, lua_KFunction k);
/// [-0, +1] Decodes one value; raises (`what: malformed message ...`) on bad
/// bytes.
void push_decoded(lua_State* L, std::string_view bytes, const char* what);
/// [-0, +1] A child's error table with `worker` = the value at `handle_index`.
void push_error(lua_State* L, const std::string& bytes, int handle_index);
/// Raises "`what`: malformed message at byte N: ...".
int raise_malformed(lua_State* L, const char* what,
                    const serialization::decode_status& st);
/// The timeout at `arg` in seconds, or -1 when absent.
double optional_timeout(lua_State* L, int arg);

/// worker.receive([timeout,] w1, ...)
int l_receive(lua_State* L);
/// worker.peek([timeout])
int l_peek(lua_State* L);
/// worker.join(w [, timeout])
int l_join(lua_State* L);
/// worker.sleep(seconds)
int l_sleep(lua_State* L);

} // namespace troupe::lua_vm::worker_detail
