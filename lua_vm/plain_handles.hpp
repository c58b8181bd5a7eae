// Handles in a state that has no worker module, a pool job's: a handle in the
// job's ctx arrives as a userdata that prints as `worker: N` and goes back out
// unchanged in what the job returns (or passes to another job), as the same
// address. Without the module nothing else can be done with one; a reply
// token travels the same way.
#pragma once

#include <cstdint>

#include <lua.hpp>

#include "serialization/lua_codec.hpp"

namespace troupe::lua_vm {

/// The handles of one such state (see the file comment).
class plain_handles {
public:
  /// Handles of the runtime tagged `tag` (0: none are accepted).
  explicit plain_handles(std::uint64_t tag) noexcept;
  plain_handles(const plain_handles&) = delete;
  plain_handles& operator=(const plain_handles&) = delete;

  /// [-0, +0, m] Makes the handles' metatables in `L`, for the codec to know
  /// them by. Call in protected mode, once per state.
  void open(lua_State* L);

  /// The codec's hooks, nullptr when no runtime's handles are accepted.
  const serialization::lua_handles* hooks() const noexcept {
    return handles_.tag == 0 ? nullptr : &handles_;
  }

private:
  static void push(lua_State* L, void* self, const serialization::address& a);
  static bool read(lua_State* L, int idx, void* self,
                   serialization::address& out);

  serialization::lua_handles handles_;
  const void* actor_metatable_ = nullptr;
  const void* reply_metatable_ = nullptr;
};

} // namespace troupe::lua_vm
