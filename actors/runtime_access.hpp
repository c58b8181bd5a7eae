// How the parts of libtroupe built on a runtime (the pool, the supervisor)
// reach the runtime's shared state, which troupe::runtime keeps private.
#pragma once

#include <memory>

#include "troupe/runtime.hpp"

namespace troupe::detail {

class runtime_core;

/// The runtime's shared state, for the pool and the supervisor.
struct runtime_access {
  /// The shared state of `rt`.
  static std::shared_ptr<runtime_core> core(runtime& rt) {
    return rt.core_;
  }
  /// The C++ handle of a dict's store.
  static shared_dict dict(std::shared_ptr<lua_vm::dict_store> store) {
    return shared_dict{std::move(store)};
  }
};

} // namespace troupe::detail
