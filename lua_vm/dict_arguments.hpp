// Internal to worker_dicts.cpp: how the shared dicts' Lua methods read their
// arguments and push their results. The checks raise Lua's argument errors (a
// key that is not a string, a table as a value, a negative or NaN time to
// live); the store's operations run in `run` (noexcept, catching what the
// store throws), their values landing in this thread's scratch, so no object
// with a destructor is alive where a push can raise.
#pragma once

#include <string_view>

#include <lua.hpp>

#include "lua_vm/dict_store.hpp"

namespace troupe::lua_vm::dict_detail {

/// Registry name of the dicts' metatable (and the type argument errors name).
inline constexpr const char* dict_type = "worker.shared";

/// A dict's userdata.
struct dict_handle {
  dict_store* store;
};

/// What the last operation on this thread handed out (reused buffers).
dict_scalar& scratch() noexcept;
/// The scratch for an operation to write its value into, inside `run`: a
/// buffer a large value left behind is given back first, so one 10 MB get does
/// not keep 10 MB per thread.
dict_scalar& scratch_to_fill();
/// The dict at argument 1; raises for anything else.
dict_store& check_dict(lua_State* L);
/// The key at argument 2: a string (anything else raises). Empty or too long,
/// `why` says so and the method returns nil, why.
std::string_view check_key(lua_State* L, const char*& why);
/// The value at `i` as a dict scalar; `nil_ok` for stores (nil deletes).
dict_scalar_view check_value(lua_State* L, int i, bool nil_ok);
/// The number at `i` (strings are not converted).
dict_scalar_view check_number(lua_State* L, int i);
/// The time to live at `i` (absent or nil: none).
clock::duration check_ttl(lua_State* L, int i);
/// [-0, +1, m] `v` as a Lua value.
void push_scalar(lua_State* L, const dict_scalar& v);
/// [-0, +2, m] nil, why.
int fail(lua_State* L, const char* why);
/// Raises "not enough memory".
int out_of_memory(lua_State* L);
/// [-0, +3] ok, err, forcible, as a store reports them.
int push_outcome(lua_State* L, const dict_outcome& o);
/// [-0, +1, m] The scratch's value.
int push_scratch(lua_State* L);

/// Runs `op` on the store; false when it ran out of memory.
template<class Op>
bool run(Op&& op) noexcept {
  try {
    op();
    return true;
  } catch (...) {
    return false;
  }
}

/// The shape of a method on one key whose operation reports a dict_error:
/// nil, why for a bad key; `op()` in the helper; nil, err when it failed, else
/// what `push()` pushes. `op` and `push` capture by reference only, so nothing
/// with a destructor is alive when they raise.
template<class Op, class Push>
int on_key(lua_State* L, const char* why, Op&& op, Push&& push) {
  if (why != nullptr) return fail(L, why);
  dict_error e = dict_error::none;
  if (!run([&] { e = op(); })) return out_of_memory(L);
  if (e != dict_error::none) return fail(L, dict_error_text(e));
  return push();
}

} // namespace troupe::lua_vm::dict_detail
