// How the end of a failed worker is written (bounded, so that it always fits
// in a message), and how an end reads on the host side: the return values, or
// the error as the exception type that says what kind of failure it was.
#pragma once

#include <cstddef>
#include <exception>
#include <string>

#include "lua_vm/failure.hpp"
#include "serialization/value_handles.hpp"
#include "troupe/error.hpp"
#include "troupe/value.hpp"

namespace troupe::lua_vm {

/// What a failed worker's end says.
struct end_error {
  /// The error message (non-string values described).
  std::string message;
  /// The traceback, or empty.
  std::string traceback;
  /// What kind of failure it was.
  failure kind = failure::error;
  /// msgpack of the error value as the script raised it, or empty when it
  /// cannot be sent (see lua_vm::encode_error_value).
  std::string value;
};

/// The end's bytes: msgpack of {message, traceback, kind, value}, the text cut
/// at lua_vm::max_error_text.
/// Throws only std::bad_alloc.
std::string encode_end_error(const end_error& e);

/// The error of a failed worker's end (msgpack of {message, traceback,
/// kind, value}) as a script_error.
script_error end_script_error(const std::string& bytes);

/// The same as the exception the host throws (failure_exception of its
/// kind).
std::exception_ptr end_exception(const std::string& bytes);

/// The return values of a worker that ended well: nil for none, the value for
/// one, an array for several.
value end_result(const std::string& bytes,
                 const serialization::value_handles* handles = nullptr);

} // namespace troupe::lua_vm
