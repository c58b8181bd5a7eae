// The counting allocator every state uses: it keeps control::used exact and
// enforces control::memory_cap.
#pragma once

#include <cstddef>

namespace troupe::lua_vm {

/// A lua_Alloc over malloc/realloc/free with `ud` pointing at the state's
/// control block. Past the cap an allocation fails; when Lua's emergency
/// collection and retry fail as well, the cap trips the hook.
void* counting_alloc(void* ud, void* ptr, std::size_t old_size,
                     std::size_t new_size) noexcept;

} // namespace troupe::lua_vm
