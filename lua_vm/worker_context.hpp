// What the `worker` module needs from the actor that runs its state, and what
// it keeps between calls. The module is written against worker_transport (spawn
// a child, send to any actor, call and reply, watch an actor's end, names,
// start a timer), so lua_vm stays free of CAF and is testable with a fake
// transport; the script actor implements it. The context holds the children's
// queues, the inbox, the call in flight, and what a suspended call is waiting
// for: the actor feeds it events and resumes the script when ready() says the
// wait is over.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lua_vm/child_table.hpp"
#include "lua_vm/control.hpp"
#include "lua_vm/meters.hpp"
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
  /// Where the child's relative paths resolve (empty: the directory of its
  /// script).
  std::string home;
  /// The child is a supervisor (see worker_identity::supervises).
  bool supervises = false;
};

/// How a send to an actor went.
enum class send_result : std::uint8_t {
  /// Queued in its inbox.
  sent,
  /// It has ended (or never was).
  dead,
  /// Its inbox is at its bound.
  full,
  /// Out of memory: nothing was sent.
  failed,
};

/// How registering a name went.
enum class name_result : std::uint8_t { registered, taken, failed };

/// What an entry of a worker's inbox is, beside its bytes.
struct inbox_meta {
  enum kind_t : std::uint8_t {
    /// A message: the bytes are its value.
    message,
    /// A monitored actor's end: the bytes are its return values.
    down_ok,
    /// A monitored actor's end: the bytes are its error.
    down_failed,
    /// A supervisor's child's worker.message: a message that counts against
    /// the child's bound until it is taken.
    child_message,
  };
  /// The sender (the ended actor for a down); 0 for the host.
  worker_id from = 0;
  /// The sender's call number when the message is a call, else 0.
  std::uint64_t call = 0;
  kind_t kind = message;

  /// Bytes the meta takes in front of an inbox entry.
  static constexpr std::size_t size = 17;
  /// Writes the meta into `out` (size bytes).
  void write(char* out) const noexcept;
  /// Reads the meta from the front of `entry`.
  static inbox_meta read(std::string_view entry) noexcept;
};

/// What a watch token (worker_transport::watch) is for, in its low bits.
enum class watch_kind : std::uint8_t { monitor = 0, call = 1, join = 2 };

/// The token of a watch of `kind` numbered `number`.
constexpr std::uint64_t watch_token(std::uint64_t number, watch_kind kind) {
  return number << 2 | static_cast<std::uint64_t>(kind);
}

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
  /// Starts a child on node `node` ("HOST:PORT") running the script at
  /// `path` beneath the node's root, with `args`; returns the id of its
  /// stand-in here, or 0 with `error` set. The stand-in answers the first
  /// call this worker makes to it with the outcome: true once the worker
  /// runs there, else the reason as a string.
  virtual worker_id spawn_remote(std::string_view node, const std::string& path,
                                 std::string args, const child_options& options,
                                 std::string& error) noexcept = 0;
  /// Starts an actor that asks the node at `node` ("HOST:PORT") for a name:
  /// it answers the one call this worker makes to it, with (name, timeout in
  /// seconds), with the handle, nil, or false and why. 0 (and `error` set)
  /// when it cannot start.
  virtual worker_id lookup_remote(std::string_view node,
                                  std::string& error) noexcept = 0;
  /// The lookup actor `asker` is not needed after all.
  virtual void cancel_lookup(worker_id asker) noexcept = 0;
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
  /// Arranges for on_message_timer(id) at or after `due` (worker.after,
  /// worker.every). False when it cannot (memory).
  virtual bool arm_message_timer(std::uint64_t id,
                                 clock::time_point due) noexcept = 0;
  /// Consumed one message of this worker's own inbox (for the inbox bound).
  virtual void inbox_taken(std::size_t size) noexcept = 0;

  /// Queues `bytes` to the inbox of actor `to` (any actor of the runtime, a
  /// child or the parent too), as call number `call` of this worker when not
  /// 0. The target's inbox bound applies.
  virtual send_result send_to(worker_id to, std::uint64_t call,
                              std::string_view bytes) noexcept = 0;
  /// This worker waits for the reply to call `call` (0: for none any more):
  /// a reply to any other is refused to whoever sends it.
  virtual void awaiting_reply(std::uint64_t call) noexcept = 0;
  /// Answers call `call` of `caller` (0: the host) with `bytes` (the encoded
  /// values). False when it was answered already, or the caller no longer
  /// waits for it.
  virtual bool reply_to(worker_id caller, std::uint64_t call,
                        std::string_view bytes) noexcept = 0;
  /// Asks for the end of `target` to arrive as worker_context::on_down with
  /// `token`. False when the target has ended already (or never was), or
  /// memory ran out.
  virtual bool watch(worker_id target, std::uint64_t token) noexcept = 0;
  /// Withdraws a watch.
  virtual void unwatch(worker_id target, std::uint64_t token) noexcept = 0;
  /// Whether `id` names an actor that has not ended.
  virtual bool alive(worker_id id) noexcept = 0;
  /// Names this worker `name` until it ends.
  virtual name_result register_name(std::string_view name) noexcept = 0;
  /// Reserves `name` for this supervisor's children (see
  /// worker_identity::supervises).
  virtual name_result hold_name(std::string_view name) noexcept = 0;
  /// Names child `child` `name`, which this supervisor holds; the name stays
  /// held, naming the child after it has ended, until the next bind or the
  /// release. False when it is not held here, or memory ran out.
  virtual bool bind_name(std::string_view name, worker_id child) noexcept = 0;
  /// Lets go of a name this supervisor holds.
  virtual void release_name(std::string_view name) noexcept = 0;
  /// The actor named `name` (it may have ended, for a name a supervisor
  /// holds), or 0.
  virtual worker_id lookup(std::string_view name) noexcept = 0;
  /// Asks for worker_context::on_name once `name` is registered. False when
  /// memory ran out.
  virtual bool await_name(std::string_view name) noexcept = 0;
  /// This worker no longer waits for `name` (its lookup timed out).
  virtual void forget_name_wait(std::string_view name) noexcept = 0;
  /// No handle of `id` is left in this state.
  virtual void forget_peer(worker_id id) noexcept = 0;
  /// The meters of live actor `id` (worker.info) into `out`; false when it
  /// has ended or memory ran out.
  virtual bool info(worker_id id, worker_info& out) noexcept = 0;
};

/// Who a worker is: its id, its parent's, the tag its runtime's handles
/// carry, and whether it is a supervisor (worker.supervise made it).
struct worker_identity {
  worker_id self = 0;
  /// 0: the host spawned it.
  worker_id parent = 0;
  std::uint64_t tag = 0;
  /// A supervisor runs troupe's own supervisor chunk: its state has the
  /// supervisor's internal functions, and its children's messages arrive in
  /// its inbox (it passes them on to its parent).
  bool supervises = false;
};

/// The call a worker has in flight (at most one: a call suspends the root
/// coroutine).
struct call_state {
  enum state_t : std::uint8_t { none, waiting, replied, ended } state = none;
  std::uint64_t number = 0;
  worker_id target = 0;
  /// The reply's encoded values.
  std::string reply;
};

/// What a suspended worker call waits for.
struct wait_state {
  enum kind_t : std::uint8_t {
    none,
    receive,
    peek,
    join,
    sleep,
    call,
    lookup
  } kind = none;
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
  worker_context(worker_transport& transport, serialization::limits limits,
                 worker_identity identity = {});

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
  /// This worker, its parent, its runtime's tag.
  const worker_identity identity;
  /// How this state's handles cross (bound in open_worker_module).
  serialization::lua_handles handles;
  /// The metatables of handles and reply tokens (their identity).
  const void* handle_metatable = nullptr;
  const void* token_metatable = nullptr;
  /// The call in flight.
  call_state call;
  /// Numbers calls and watches.
  std::uint64_t next_number = 1;
  /// What joins of actors other than children keep: their ends, and the
  /// actors watched whose end has not come. Made by the first such join
  /// (most workers join only their children).
  struct joined {
    std::unordered_map<worker_id, child_end> ends;
    std::unordered_set<worker_id> watching;
  };
  std::unique_ptr<joined> joins;
  /// The end of `id` that a join of a non-child kept, or nullptr.
  const child_end* joined_end(worker_id id) const;
  /// A name awaited by a lookup was registered.
  bool name_appeared = false;
  /// A timer of worker.after or worker.every: the value it brings (encoded),
  /// its period (zero: once), when it is due next.
  struct message_timer {
    std::string bytes;
    clock::duration period{0};
    clock::time_point due;
  };
  /// The message timers armed and not yet fired (once) or cancelled, and the
  /// next id; made by the first (most workers have none).
  struct timer_table {
    std::unordered_map<std::uint64_t, message_timer> pending;
    std::uint64_t next_id = 1;
  };
  std::unique_ptr<timer_table> message_timers;
  /// The state's control block (for the memory message timers take).
  control* ctl = nullptr;
  /// Message timer `id` is due: its value goes into the inbox from this
  /// worker, an every timer is armed again. Returns the bytes queued (0: none,
  /// it was cancelled). Throws std::bad_alloc with nothing queued.
  std::size_t on_message_timer(std::uint64_t id);

  /// Queues a message (or a down) into the inbox; throws std::bad_alloc with
  /// nothing queued.
  void push_inbox(const inbox_meta& meta, std::string_view bytes);
  /// The reply to call `number` arrived.
  void on_reply(std::uint64_t number, std::string_view bytes);
  /// The end of `from` arrived for watch `token`. Throws std::bad_alloc.
  void on_down(worker_id from, std::uint64_t token, bool ok,
               std::string_view bytes);
  /// A name awaited by a lookup was registered.
  void on_name() noexcept {
    name_appeared = true;
  }

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
