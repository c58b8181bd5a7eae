// Internal to the worker module: the helpers its files share
// (worker_module.cpp: status, message and the rest; worker_create.cpp:
// create, here or on a node; worker_waits.cpp: the calls that wait;
// worker_addresses.cpp: handles, send, call and reply, names, monitors;
// worker_timers.cpp: message timers; worker_dicts.cpp: shared dicts;
// worker_info.cpp: metrics; worker_supervise.cpp: worker.supervise and a
// supervisor's internal functions) and the calls the module registers. Every
// function taking a lua_State follows Lua's rules: it may raise (by longjmp),
// so no caller may hold a C++ object with a destructor across it.
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
/// Registry name of the reply tokens' metatable.
inline constexpr const char* token_type = "worker.call";

/// A worker handle's userdata (one per actor in a state).
struct handle {
  worker_id id;
};

/// A reply token's userdata: the call of `caller` numbered `call`.
struct reply_token {
  worker_id caller;
  std::uint64_t call;
};

/// [-0, +1, m] The handle userdata of actor `id` (the same one while any
/// reference to it lives).
void push_handle(lua_State* L, worker_id id);
/// [-0, +1, m] A reply token for call `call` of `caller`.
void push_token(lua_State* L, worker_id caller, std::uint64_t call);
/// The actor named at `arg`: a handle, or a registered name (0 when no actor
/// has it). Raises for anything else ("worker expected").
worker_id check_target(lua_State* L, int arg);
/// [-0, +0] Sets up handles in `L` (their metatables, the weak table of
/// handles, the codec's hooks). Call in protected mode.
void open_addresses(lua_State* L, worker_context& c);
/// The functions of worker_addresses.cpp (the module table gets them on
/// first use).
extern const luaL_Reg address_functions[];
/// The functions of worker_timers.cpp (also on first use).
extern const luaL_Reg timer_functions[];
/// The functions of worker_dicts.cpp (also on first use).
extern const luaL_Reg dict_functions[];
/// The function of worker_info.cpp (also on first use).
extern const luaL_Reg info_functions[];
/// A supervisor's internal functions (worker_supervise.cpp; on first use, in
/// a supervisor's state only).
extern const luaL_Reg supervisor_functions[];
/// [-0, +1, e] worker.supervise: the supervisor chunk's library function,
/// loaded into `L`.
void push_supervise(lua_State* L);
/// Encodes the value at `idx` into the context's sink; on failure sets
/// error_text (`worker.fn: argument #argn ...`).
bool encode_one(lua_State* L, int idx, const char* fn, int argn) noexcept;
/// Sets error_text from the encoder's error, for `worker.fn` whose first
/// encoded argument is #argn.
void set_encode_error(lua_State* L, const char* fn, int argn) noexcept;
/// [-0, +0] Starts a wait of `kind` (timeout in seconds, -1 for none).
void begin_wait(lua_State* L, wait_state::kind_t kind, double timeout) noexcept;
/// [-0, +0] The wait is over.
void end_wait(lua_State* L) noexcept;

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
void push_error(lua_State* L, std::string_view bytes, int handle_index);
/// Raises "`what`: malformed message at byte N: ...".
int raise_malformed(lua_State* L, const char* what,
                    const serialization::decode_status& st);
/// [-0, +0, e] Raises the error table {message, kind} of a failed call.
[[noreturn]] void raise_call_error(lua_State* L, const char* kind,
                                   const char* message);
/// Starts a call (the next number) to `target` with the value encoded in the
/// context's sink, watching `target` so its end fails the call.
send_result start_call(worker_context& c, worker_id target) noexcept;
/// Ends the call in flight: no reply is taken any more, the watch goes.
void end_call(worker_context& c) noexcept;
/// [-0, +n, e] The call in flight has its reply: ends the wait and the call
/// and pushes the reply's values (their count returned); raises (`what:
/// malformed message ...`) on bad bytes.
int take_reply(lua_State* L, const char* what);
/// [-1|n, +1, e] worker.create(path, ...) or worker.create{path = ..., ...}
/// (worker_create.cpp).
int l_create(lua_State* L);
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
/// worker.register(name)
int l_register(lua_State* L);
/// worker.lookup(name [, timeout | {timeout = s}])
int l_lookup(lua_State* L);

} // namespace troupe::lua_vm::worker_detail
