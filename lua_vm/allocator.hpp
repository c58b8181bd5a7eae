// The counting allocator every state uses: it keeps control::used exact and
// enforces control::memory_cap. A state makes some hundreds of small blocks
// while it opens its libraries, nearly all of which live as long as it does;
// malloc adds a header and rounds each to 16 bytes (3.7 KB of a 16 KB state)
// and takes ~20 ns for each. So a state's first blocks are carved from one
// slab, 8-byte aligned (all Lua asks for), sized by what the libraries took
// in the first state of the process. A block of the slab is never reused
// when freed: the memory a state holds may exceed control::used by at most
// the slab's size. Memory the state's owner keeps for the script outside Lua
// can be counted against the same cap.
#pragma once

#include <cstddef>

namespace troupe::lua_vm {

struct control;

/// A lua_Alloc over malloc/realloc/free with `ud` pointing at the state's
/// control block. Past the cap an allocation fails; when Lua's emergency
/// collection and retry fail as well, the cap trips the hook.
void* counting_alloc(void* ud, void* ptr, std::size_t old_size,
                     std::size_t new_size) noexcept;

/// Gives the state of `c` its slab, sized by the first state that reported
/// its libraries' size (none before that). Throws std::bad_alloc.
void reserve_slab(control& c);

/// Reports the bytes a state took to open its libraries; the first report
/// sizes every later slab.
void learn_slab_size(std::size_t bytes) noexcept;

/// Counts `n` bytes that the state's owner keeps for its script outside Lua
/// (message timers) against the memory cap: false, nothing counted and the
/// cap tripped, when they do not fit.
bool charge_outside(control& c, std::size_t n) noexcept;

/// Gives back `n` bytes charge_outside counted.
void release_outside(control& c, std::size_t n) noexcept;

} // namespace troupe::lua_vm
