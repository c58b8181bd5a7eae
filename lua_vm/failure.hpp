// One list of the ways a worker or a job fails, and the two readings of it:
// the `kind` name scripts see in an error table, and the exception the C++
// API throws. Workers, pool jobs and supervised jobs all classify through
// here, so a new kind is added once.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "lua_vm/control.hpp"
#include "troupe/value.hpp"

namespace troupe::lua_vm {

/// How a worker or job failed.
enum class failure : std::uint8_t {
  /// The script raised (or something else went wrong): troupe::script_error.
  error,
  /// A permission refusal: troupe::permission_error, kind "permission".
  permission,
  /// The memory cap or the instruction budget: troupe::limit_error, "limit".
  limit,
  /// Its wall-time limit or deadline: troupe::timeout_error, "timeout".
  timeout,
  /// Cancelled: troupe::cancelled_error, "cancelled".
  cancelled,
  /// A supervisor ended its children past its restart intensity:
  /// troupe::script_error, "gave_up".
  gave_up,
  /// A remote worker's node died, hung or could not be reached:
  /// troupe::lost_error, "lost".
  lost,
};

/// The failure a stop of the hook is (`error` for stop_reason::none).
failure failure_of(stop_reason r) noexcept;

/// The failure that ended the script of the state `c` controls with
/// `message`: its stop if the hook tripped, a permission refusal if the
/// message is the one the refusal raised (a script may also catch a refusal
/// and raise something else), `gave_up` if a supervisor gave up, else
/// `error`.
failure classify(const control& c, std::string_view message) noexcept;

/// The `kind` field scripts read in an error table: "permission", "limit",
/// "timeout", "cancelled", "gave_up", "lost"; nullptr for failure::error (no
/// field).
const char* kind_name(failure f) noexcept;

/// The failure a `kind` field names (`error` for any other value).
failure failure_named(const value& kind) noexcept;

/// The exception the C++ API throws for a failure of kind `f` (script_error
/// with `traceback` and `raised` for failure::error).
std::exception_ptr failure_exception(failure f, std::string message,
                                     std::string traceback = {},
                                     value raised = {});

} // namespace troupe::lua_vm
