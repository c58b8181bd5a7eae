// Handles as msgpack. A handle (an actor's address, or the reply token of a
// call) crosses between states as an ext type of exactly troupe's shape:
// fixext 16 of type 1 for an actor (the runtime's tag, the actor's id) and
// ext 8 of 24 bytes of type 2 for a reply token (tag, caller, call number),
// every word big-endian. The tag is a random number each runtime draws: bytes
// that name a handle of another runtime, or that someone wrote by hand, do
// not carry it and are refused by the decoders. Any other ext type, and
// troupe's types in any other length, are refused too.
#pragma once

#include <cstdint>

#include "serialization/byte_sink.hpp"

namespace troupe::serialization {

/// What a handle names.
struct address {
  enum kind_t : std::uint8_t {
    /// An actor: `id` is its id in the runtime.
    actor = 1,
    /// A call waiting for its reply: `id` is the caller, `call` its number.
    reply = 2,
  } kind = actor;
  std::uint64_t id = 0;
  std::uint64_t call = 0;

  friend bool operator==(const address&, const address&) = default;
};

/// Writes `a` as its ext type, carrying `tag`.
void write_address(byte_sink& out, std::uint64_t tag,
                   const address& a) noexcept;

} // namespace troupe::serialization
