// Turning whatever a script raised into a message and a traceback. Any Lua
// value can be an error: strings are used as they are, numbers converted,
// values with a __tostring described by it (a failing __tostring is described
// too), and every other value by its type, so no error is ever lost or crashes
// the host.
#pragma once

#include <cstddef>
#include <string>

#include <lua.hpp>

#include "serialization/lua_codec.hpp"

namespace troupe::lua_vm {

/// The most bytes of an error's message, and of its traceback, that are kept:
/// longer text is cut there with a note of its full length, so an error always
/// fits in a worker's end and costs no more than this to describe.
inline constexpr std::size_t max_error_text = std::size_t{64} * 1024;

/// The `n` bytes at `text`, cut as max_error_text says.
std::string bounded_error_text(const char* text, std::size_t n);

/// The largest encoded error value that travels with an error (a larger one is
/// left out).
inline constexpr std::size_t max_error_value = std::size_t{1} << 20;

/// [-0, +0] Encodes the error value on top of `co` into `sink` when it can be
/// sent and takes at most max_error_value bytes; false otherwise. A string too
/// long is refused before it is encoded.
bool encode_error_value(lua_State* co, serialization::lua_encoder& encoder,
                        serialization::byte_sink& sink) noexcept;

/// A script's error as the host sees it.
struct error_info {
  /// The error message (non-string values described).
  std::string message;
  /// `stack traceback:` and the frames, or empty when none could be taken (out
  /// of memory).
  std::string traceback;
};

/// A lua_CFunction message handler for lua_pcall: [-1, +1] replaces the error
/// value by a table {message = <string>, traceback = <string>}.
int traceback_handler(lua_State* L);

/// The error a coroutine `co` of `L` stopped with (its value on top of co's
/// stack, which lua_resume leaves unwound so the traceback can still be taken).
/// [-0, +0] on L; pops the value from co.
error_info coroutine_error(lua_State* L, lua_State* co);

/// [-1, +0] Pops an error value (a traceback_handler table or a raw value) into
/// an error_info. When the state was stopped by its hook the message is the
/// stop's ("memory limit exceeded", ...).
error_info pop_error(lua_State* L);

} // namespace troupe::lua_vm
