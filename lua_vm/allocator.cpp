// The counting allocator (see allocator.hpp). Lua answers a failed allocation
// with an emergency full collection and one retry of the same request; only
// when that retry fails too is the cap really exhausted, so only then does it
// trip the hook. Once tripped, a little headroom lets the error message and
// traceback be built.
#include "lua_vm/allocator.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "lua_vm/control.hpp"
#include "lua_vm/interrupt.hpp"

namespace troupe::lua_vm {

namespace {

std::atomic<std::size_t> learned_slab_size{0};

constexpr std::size_t slab_align = 8;
// Larger blocks (the string table, tables' parts) are few, and grow while the
// libraries open; in the slab their old copies would be dead weight.
constexpr std::size_t slab_block_max = 64;

std::size_t rounded(std::size_t size) noexcept {
  return (size + slab_align - 1) & ~(slab_align - 1);
}

bool in_slab(const control& c, void* ptr) noexcept {
  auto p = reinterpret_cast<std::uintptr_t>(ptr);
  return p >= reinterpret_cast<std::uintptr_t>(c.slab.get())
         && p < reinterpret_cast<std::uintptr_t>(c.slab_end);
}

void* from_slab(control& c, std::size_t size) noexcept {
  if (size > slab_block_max) return nullptr;
  c.slab_wanted += rounded(size);
  if (static_cast<std::size_t>(c.slab_end - c.slab_next) < rounded(size))
    return nullptr;
  void* block = c.slab_next;
  c.slab_next += rounded(size);
  return block;
}

void* grow(control& c, void* ptr, std::size_t old_size,
           std::size_t new_size) noexcept {
  if (ptr == nullptr) {
    void* block = from_slab(c, new_size);
    return block != nullptr ? block : std::malloc(new_size);
  }
  if (!in_slab(c, ptr)) return std::realloc(ptr, new_size);
  // A slab block shrinks in place and moves out to grow.
  if (new_size <= old_size) return ptr;
  void* block = from_slab(c, new_size);
  if (block == nullptr) block = std::malloc(new_size);
  if (block != nullptr) std::memcpy(block, ptr, old_size);
  return block;
}

} // namespace

void* counting_alloc(void* ud, void* ptr, std::size_t old_size,
                     std::size_t new_size) noexcept {
  auto& c = *static_cast<control*>(ud);
  std::size_t current = ptr != nullptr ? old_size : 0;
  if (new_size == 0) {
    if (!in_slab(c, ptr)) std::free(ptr);
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
  void* block = grow(c, ptr, current, new_size);
  if (block == nullptr) return nullptr;
  // Only a granted growth answers a pending retry: the emergency collection
  // between a failure and its retry shrinks blocks too.
  if (new_size > current) c.retry_pending = false;
  c.used = c.used - current + new_size;
  return block;
}

void reserve_slab(control& c) {
  std::size_t size = learned_slab_size.load(std::memory_order_relaxed);
  if (size == 0) return;
  c.slab = std::make_unique_for_overwrite<std::byte[]>(size);
  c.slab_next = c.slab.get();
  c.slab_end = c.slab.get() + size;
}

void learn_slab_size(std::size_t bytes) noexcept {
  std::size_t none = 0;
  learned_slab_size.compare_exchange_strong(none, bytes);
}

bool charge_outside(control& c, std::size_t n) noexcept {
  if (c.memory_cap != 0 && c.used + n > c.memory_cap) {
    trip(c, stop_reason::memory);
    c.cap_refused = true;
    return false;
  }
  c.used += n;
  return true;
}

void release_outside(control& c, std::size_t n) noexcept {
  c.used -= n;
}

} // namespace troupe::lua_vm
