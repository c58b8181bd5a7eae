// The counting allocator (see allocator.hpp). Lua answers a failed allocation
// with an emergency full collection and one retry of the same request; only
// when that retry fails too is the cap really exhausted, so only then does it
// trip the hook. Once tripped, a little headroom lets the error message and
// traceback be built.
#include "lua_vm/allocator.hpp"

#include <cstdlib>

#include "lua_vm/control.hpp"
#include "lua_vm/interrupt.hpp"

namespace troupe::lua_vm {

void* counting_alloc(void* ud, void* ptr, std::size_t old_size,
                     std::size_t new_size) noexcept {
  auto& c = *static_cast<control*>(ud);
  std::size_t current = ptr != nullptr ? old_size : 0;
  if (new_size == 0) {
    std::free(ptr);
    c.used -= current;
    return nullptr;
  }
  if (c.memory_cap != 0 && new_size > current) {
    std::size_t cap = c.memory_cap
                      + (c.tripped == stop_reason::memory
                           ? control::error_headroom
                           : 0);
    if (c.used - current + new_size > cap) {
      if (c.retry_pending) trip(c, stop_reason::memory);
      c.retry_pending = true;
      c.cap_refused = true;
      return nullptr;
    }
  }
  void* block = std::realloc(ptr, new_size);
  if (block == nullptr) return nullptr;
  // Only a granted growth answers a pending retry: the emergency collection
  // between a failure and its retry shrinks blocks too.
  if (new_size > current) c.retry_pending = false;
  c.used = c.used - current + new_size;
  return block;
}

} // namespace troupe::lua_vm
