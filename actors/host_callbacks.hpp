// What a host callback's observer shares with the worker it observes: the
// post box the worker's messages to the host go to once on_message is set,
// and the callbacks. One observer actor per observed worker runs the
// callbacks (host_callbacks.cpp), so one worker's messages and end are taken
// in order, one at a time, and no host thread waits for them.
#pragma once

#include <functional>
#include <memory>

#include "actors/post_box.hpp"
#include "troupe/value.hpp"
#include "troupe/worker.hpp"

namespace troupe::detail {

struct worker_shared;

/// One observed worker's box and callbacks (see the file comment).
struct host_observer {
  /// The worker's messages (from_child) and its end (down_ok, down_failed).
  post_box box;
  /// Set once, under the runtime's mutex, before any message is routed here.
  std::function<void(const value&)> on_message;
  /// Set and taken under the runtime's mutex (the end may be near).
  std::function<void(const exit_info&)> on_end;
  /// The observed worker's charges: a message taken gives its bound back.
  /// Set with on_message, before any message is routed here.
  std::weak_ptr<worker_shared> child;
};

} // namespace troupe::detail
