// How the end of a worker reads on the host side: the return values, or the
// error as the exception type that says what kind of failure it was.
#pragma once

#include <exception>
#include <string>

#include "troupe/error.hpp"
#include "troupe/value.hpp"

namespace troupe::detail {

/// The error of a failed worker's end (msgpack of {message, traceback,
/// kind}) as a script_error.
script_error end_script_error(const std::string& bytes);

/// The same as the exception the host throws: permission_error, limit_error
/// or timeout_error for those kinds, script_error for any other.
std::exception_ptr end_exception(const std::string& bytes);

/// The return values of a worker that ended well: nil for none, the value for
/// one, an array for several.
value end_result(const std::string& bytes);

} // namespace troupe::detail
