// What the `worker` module needs from the actor that runs its state, and what
// it keeps between calls. The module is written against worker_transport (spawn
// a child, send to it, cancel it, message the parent, start a timer), so lua_vm
// stays free of CAF and is testable with a fake transport; the script actor
// implements it. The context holds the children's queues, the inbox, and what a
// suspended call is waiting for: the actor feeds it events and resumes the
// script when ready() says the wait is over.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lua_vm/child_table.hpp"
#include "lua_vm/control.hpp"
#include "lua_vm/permissions.hpp"
#include "serialization/byte_sink.hpp"
#include "serialization/lua_codec.hpp"
#include "troupe/bytecode.hpp"

namespace troupe::lua_vm {

/// Options of worker.create beyond path and args.
struct child_options {
  /// Largest number of unread messages in the child's inbox.
  std::size_t inbox_limit = 0;
  /// What the child may do (the parent's own set).
  permission_set permissions;
  /// The limits asked for (zero: the runtime's default); the host clamps them
  /// to the parent's own.
  vm_limits limits;
};

/// The outside world of a worker, as its actor provides it. Every call is
/// noexcept: failures come back as values (and error text), never as
/// exceptions, since the callers run between Lua frames.
class worker_transport {
public:
  virtual ~worker_transport() = default;

  /// Compiles (or finds in the code cache) the script at `path`, read from
  /// `fd` when it is not -1 (opened beneath the worker's fs:read scope; the
  /// transport closes it). On failure returns nullopt and sets `error`
  /// (`cannot open ...`, `cannot read ...` or `file:line: message`).
  virtual std::optional<bytecode> load_script(const std::string& path, int fd,
                                              std::string& error) noexcept = 0;
  /// The script at `path` if it is compiled already and unchanged, without
  /// reading it; `canonical` receives its path with symlinks resolved (for the
  /// fs:read check). nullopt otherwise.
  virtual std::optional<bytecode>
  cached_script(const std::string& path, std::string& canonical) noexcept = 0;
  /// Starts a child running `chunk` with `args` (an encoded array of values);
  /// returns its id, or 0 with `error` set.
  virtual worker_id spawn_child(const bytecode& chunk, std::string args,
                                const child_options& options,
                                std::string& error) noexcept = 0;
  /// Queues `bytes` to the child's inbox. false when the inbox is full.
  virtual bool send_to_child(worker_id child,
                             std::string_view bytes) noexcept = 0;
  /// Stops the child (at its next hook tick, or at once if blocked).
  virtual void cancel_child(worker_id child) noexcept = 0;
  /// Queues `bytes` to the parent (worker.message). false when the parent's
  /// queue of this worker's unread messages is full.
  virtual bool send_to_parent(std::string_view bytes) noexcept = 0;
  /// This worker took one message of `child` (for that child's bound).
  virtual void message_taken(worker_id child, std::size_t size) noexcept = 0;
  /// Arranges for on_timer(token) after `delay`.
  virtual void start_timer(std::uint64_t token,
                           clock::duration delay) noexcept = 0;
  /// Consumed one message of this worker's own inbox (for the inbox bound).
  virtual void inbox_taken(std::size_t size) noexcept = 0;
};

/// What a suspended worker call waits for.
struct wait_state {
  enum kind_t : std::uint8_t { none, receive, peek, join, sleep } kind = none;
  /// The children a receive or join waits on.
  std::vector<worker_id> ids;
  /// When the wait times out (if has_deadline).
  clock::time_point deadline;
  /// Set when the wait's timer fired.
  bool timed_out = false;
  /// Whether a timeout applies.
  bool has_deadline = false;
};

/// Per-state worker data (see file comment). Owned by the actor, reached from
/// Lua through control::worker.
class worker_context {
public:
  /// A context whose calls go through `transport` (relative paths of
  /// worker.create resolve in control::home, the script's directory).
  worker_context(worker_transport& transport, serialization::limits limits);

  /// The actor's side of the interface.
  worker_transport& transport;
  /// The children and what they sent.
  child_table children;
  /// Messages from the parent, not yet taken by peek.
  byte_queue inbox;
  /// The parent has ended: peek returns nil once the inbox is empty.
  bool parent_gone = false;
  /// What the script waits for, if suspended.
  wait_state wait;
  /// Codec and scratch shared by every call.
  serialization::lua_encoder encoder;
  /// Scratch for encoding.
  serialization::byte_sink sink;
  /// Scratch for error messages built by the host side of a call.
  std::string error_text;
  /// Whether the first wait's collection has run.
  bool settled = false;

  /// Whether the script, suspended in `wait`, can be resumed now.
  bool ready() const;

  /// Starts a new wait of `kind` with an optional timeout; asks the transport
  /// for a timer unless one already pending fires first.
  void begin_wait(wait_state::kind_t kind, double timeout_seconds);

  /// The timer armed for `due` (its token) fired; true if it ends the current
  /// wait.
  bool on_timer(std::uint64_t token);

private:
  /// A worker has at most one timer it counts on: the earliest it armed and
  /// that has not fired. A wait whose deadline comes later arms none; when
  /// the timer fires before the wait's deadline it is armed again for it. So
  /// a loop of receives with a timeout, each answered in time, costs one
  /// timer per timeout period, not one per message.
  void arm(clock::time_point due);
  clock::time_point timer_due_ = clock::time_point::max();
};

/// The root function of a worker's coroutine, a lua_CFunction: [chunk,
/// lightuserdata(const std::string* args)]
/// -> the chunk's results. It decodes the args (encoded by encode_values)
/// inside the coroutine, where a memory error is the script's, and calls the
/// chunk so that it may yield.
int run_chunk(lua_State* L);

/// [-0, +0] Installs the `worker` module into `L`'s globals, bound to `context`
/// (kept in control::worker). Call in protected mode.
void open_worker_module(lua_State* L, worker_context& context);

} // namespace troupe::lua_vm
