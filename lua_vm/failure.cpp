// The failure taxonomy (see failure.hpp).
#include "lua_vm/failure.hpp"

#include "troupe/error.hpp"

namespace troupe::lua_vm {

namespace {

constexpr std::string_view denied_prefix = "permission denied: ";

} // namespace

failure failure_of(stop_reason r) noexcept {
  switch (r) {
    case stop_reason::memory:
    case stop_reason::instructions: return failure::limit;
    case stop_reason::deadline: return failure::timeout;
    case stop_reason::cancelled: return failure::cancelled;
    case stop_reason::none: break;
  }
  return failure::error;
}

failure classify(const control& c, std::string_view message) noexcept {
  if (c.tripped != stop_reason::none) return failure_of(c.tripped);
  if (c.denied && message.find(denied_prefix) != std::string_view::npos)
    return failure::permission;
  if (c.gave_up) return failure::gave_up;
  return failure::error;
}

const char* kind_name(failure f) noexcept {
  switch (f) {
    case failure::permission: return "permission";
    case failure::limit: return "limit";
    case failure::timeout: return "timeout";
    case failure::cancelled: return "cancelled";
    case failure::gave_up: return "gave_up";
    case failure::lost: return "lost";
    case failure::error: break;
  }
  return nullptr;
}

failure failure_named(const value& kind) noexcept {
  if (!kind.is_string()) return failure::error;
  for (auto f : {failure::permission, failure::limit, failure::timeout,
                 failure::cancelled, failure::gave_up, failure::lost})
    if (kind.as_string() == kind_name(f)) return f;
  return failure::error;
}

std::exception_ptr failure_exception(failure f, std::string message,
                                     std::string traceback, value raised) {
  switch (f) {
    case failure::permission:
      return std::make_exception_ptr(permission_error{std::move(message)});
    case failure::limit:
      return std::make_exception_ptr(limit_error{std::move(message)});
    case failure::timeout:
      return std::make_exception_ptr(timeout_error{std::move(message)});
    case failure::cancelled:
      return std::make_exception_ptr(cancelled_error{std::move(message)});
    case failure::lost:
      return std::make_exception_ptr(lost_error{std::move(message)});
    case failure::gave_up:
    case failure::error: break;
  }
  return std::make_exception_ptr(
    script_error{std::move(message), std::move(traceback), std::move(raised)});
}

} // namespace troupe::lua_vm
