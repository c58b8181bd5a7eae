// The shared state behind troupe::runtime and its workers: the CAF actor
// system, the code cache, the directory of live workers (how any sender finds
// a worker's link, and how the runtime stops them all), names, the host's own
// children (the workers and native actors C++ spawned, whose messages C++
// threads receive under a mutex or callbacks take) and its calls, and the
// counters (what senders hold of a worker is worker_link.hpp's). Handles keep
// it alive; once the runtime is destroyed it is stopped and every use of a
// handle throws troupe::stopped_error. CAF stays behind forward declarations
// here (actors are actor_refs): only the translation units that spawn or
// message actors include it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/actor_ref.hpp"
#include "actors/code_cache.hpp"
#include "actors/post_box.hpp"
#include "actors/timer_queue.hpp"
#include "actors/watch_list.hpp"
#include "actors/worker_link.hpp"
#include "lua_vm/child_table.hpp"
#include "lua_vm/control.hpp"
#include "lua_vm/dict_store.hpp"
#include "lua_vm/host_functions.hpp"
#include "lua_vm/meters.hpp"
#include "lua_vm/permissions.hpp"
#include "lua_vm/worker_context.hpp"
#include "serialization/value_handles.hpp"
#include "troupe/error.hpp"
#include "troupe/runtime.hpp"

namespace caf {
class actor_system;
class actor_system_config;
} // namespace caf

namespace troupe::lua_vm {
struct module_catalog;
} // namespace troupe::lua_vm

namespace troupe::detail {

using lua_vm::worker_id;

struct remote_request;
class node_links;

/// What a new worker is to run, with what.
struct spawn_request {
  bytecode chunk;
  /// Where its relative paths resolve.
  std::string dir;
  /// Its arguments, encoded.
  std::string args;
  /// None: the host is the parent.
  actor_ref parent;
  /// The parent's worker id (0: the host).
  worker_id parent_id = 0;
  /// The parent's shared block (its post box); null for the host.
  std::shared_ptr<worker_shared> parent_shared;
  std::size_t inbox_limit = 0;
  lua_vm::permission_set permissions;
  lua_vm::vm_limits limits;
  /// It is a supervisor (lua_vm::worker_identity::supervises).
  bool supervises = false;
  /// Its parent stands for the host of another runtime (a node's agent for a
  /// worker the host created there): worker.parent() is nil, as for a host
  /// child.
  bool parent_hidden = false;
  /// For a host child: when set, its end goes here (called on the thread that
  /// ends it) instead of to the host's table, and its messages are dropped.
  std::function<void(worker_id, lua_vm::child_end)> on_end;
};

/// A script as a worker runs it: its code, and the directory its relative
/// paths resolve in.
struct resolved_script {
  bytecode chunk;
  std::string dir;
};

/// "troupe::worker::FN: inbox full (worker ID)".
limit_error inbox_full(const char* fn, worker_id id);

/// What every troupe::worker copy of one host worker shares: when the last copy
/// goes, the runtime forgets the worker (see runtime_core::forget_host_worker).
struct worker_ref {
  std::shared_ptr<runtime_core> core;
  worker_id id;
  ~worker_ref();
};

/// Something built on the runtime that must stop before the runtime's actors
/// do (a pool, a supervisor): it fails what it holds and stops its actors.
class runtime_service {
public:
  virtual ~runtime_service() = default;
  /// The runtime is shutting down.
  virtual void runtime_stopping() noexcept = 0;
};

/// What the host took from its workers in one select: one value or none per
/// worker asked, or a timeout.
struct host_selection {
  std::vector<std::optional<value>> values;
  bool timed_out = false;
};

/// The shared state of one runtime (see the file comment).
class runtime_core : public std::enable_shared_from_this<runtime_core> {
public:
  /// Starts the actor system.
  explicit runtime_core(runtime_config config);
  /// Stops the actor system (shutdown() has run, by the runtime).
  ~runtime_core();

  /// Starts a worker for `request`; its messages and end go to its parent, or
  /// to the host. Returns the link and sets `id`. Throws troupe::limit_error
  /// past config.max_workers (and for host children config.max_children).
  child_link spawn(spawn_request request, worker_id& id);
  /// Starts the stand-in of a worker on another node (remote_worker.hpp);
  /// returns its link and sets `id`. Throws as spawn does.
  child_link spawn_remote(remote_request request, worker_id& id);
  /// A host worker on `options.node` running `path` (beneath its root),
  /// waiting until the node has started it; throws troupe::error with the
  /// node's reason when it cannot.
  worker_id spawn_on_node(const std::string& path,
                          const std::vector<value>& args,
                          const spawn_options& options);
  /// Starts the actor that answers a worker.lookup on `node` ("HOST:PORT";
  /// remote_lookup.hpp); returns its id. Throws troupe::error for a
  /// malformed address, and as spawn does.
  worker_id spawn_lookup(std::string_view node);
  /// See runtime::listen.
  std::uint16_t listen(const std::string& host, std::uint16_t port,
                       const listen_options& options);
  /// What the runtime knows of its peers (nothing without
  /// runtime_config::network).
  node_links& links() noexcept {
    return *links_;
  }
  /// The runtime's agent (node_agent.hpp), started on first use: the actor
  /// peers reach it through. Throws troupe::stopped_error once shutdown has
  /// begun.
  const child_link& agent();
  /// The agent's worker id (0 before it started).
  worker_id agent_id() const noexcept {
    return agent_id_.load(std::memory_order_acquire);
  }

  /// The script at `path` (relative to config.base_dir, or to the current
  /// directory), compiled through the code cache. Throws troupe::compile_error
  /// for a syntax error and troupe::error, its message starting with
  /// `caller`, for a path that cannot be read.
  resolved_script resolve(const std::filesystem::path& path,
                          std::string_view caller);
  /// Source text run by the host resolves its relative paths here.
  std::filesystem::path base_dir() const;

  /// What the host spawns to run `chunk` (relative paths in `dir`) with
  /// `args`, under the runtime's limits as `options` adjust them.
  spawn_request host_request(const bytecode& chunk, std::string dir,
                             const std::vector<value>& args,
                             const spawn_options& options) const;

  /// Spawns an actor of type `Actor` (lazily initialized: it starts with its
  /// first message). Throws troupe::stopped_error once shutdown has begun.
  /// Defined in spawn_actor.hpp, for the translation units that include CAF.
  template<class Actor, class... Ts>
  actor_ref spawn_actor(Ts&&... xs);
  /// Tells `service` when the runtime shuts down (before its actors are
  /// stopped). Throws troupe::stopped_error once shutdown has begun.
  void attach(std::weak_ptr<runtime_service> service);

  /// What the workers the host spawns may do (runtime_config::permissions).
  lua_vm::permission_set host_permissions;

  /// A host child's message (called by its actor).
  void post_message(worker_id id, std::string bytes);
  /// No handle names host worker `id` any more: drop its record once it has
  /// ended.
  void forget_host_worker(worker_id id) noexcept;
  /// Host workers the runtime keeps a record of.
  std::size_t host_workers() const;
  /// A host child's end (called by its actor).
  void post_end(worker_id id, lua_vm::child_end end);
  /// Any worker ended (called by its actor).
  void worker_ended(worker_id id, bool ok);
  /// Cancels the worker behind `flag`/`actor` once `delay` has passed (an
  /// orphan's grace period), unless it has ended by then. A timer thread does
  /// it, since the worker may be spinning and never read a message.
  void cancel_later(std::shared_ptr<std::atomic<bool>> flag,
                    const actor_ref& actor, std::chrono::milliseconds delay);
  /// A pending action of the timer thread: when, and which.
  using timer_key = std::pair<std::chrono::steady_clock::time_point,
                              std::uint64_t>;
  /// Runs `action` (which must not throw) on the timer thread after `delay`;
  /// cancel_timer with the key drops it.
  timer_key after(std::chrono::nanoseconds delay, std::function<void()> action);
  /// Drops the action of `key` unless it has run.
  void cancel_timer(const timer_key& key) noexcept;
  /// Actions the timer thread holds (for tests).
  std::size_t pending_timers() const;
  /// Fires message timer `id` of worker `owner` at or after `due` (posting
  /// it a timer mail). False when memory ran out.
  bool arm_message_timer(worker_id owner, std::uint64_t id,
                         lua_vm::clock::time_point due) noexcept;
  /// Worker `owner` has ended: its pending message timers go now rather than
  /// when due (for a worker that leaves many).
  void drop_message_timers(worker_id owner) noexcept;
  /// Message timers pending in the runtime's timer queue (for tests).
  std::size_t pending_message_timers() const;
  /// A lua_vm::line_sink writing to the runtime_core at `core`.
  static void print_to(void* core, std::string_view line) noexcept {
    static_cast<runtime_core*>(core)->print(line);
  }
  /// Writes one line of script output.
  void print(std::string_view line) noexcept;
  /// Cancels every live worker, waits for all actors to end and stops the actor
  /// system.
  void shutdown();
  /// Throws troupe::stopped_error once shutdown has begun.
  void check_running() const;

  /// The select of DESIGN.md over the host workers `ids`, waiting until
  /// `deadline` (forever when absent). Throws what a worker's error says
  /// (lua_vm::end_exception), troupe::stopped_error, and troupe::error for
  /// an id that is not the host's child.
  host_selection select(const std::vector<worker_id>& ids,
                        std::optional<lua_vm::clock::time_point> deadline);
  /// The end of host worker `id`, waiting for it until `deadline`; nullopt on
  /// timeout. Throws troupe::stopped_error, and troupe::error when `id` is
  /// not the host's child.
  std::optional<lua_vm::child_end> wait_end(worker_id id,
                                            lua_vm::clock::time_point deadline);
  /// Whether host worker `id` has ended (its end reached the host).
  bool host_worker_dead(worker_id id) const;
  /// Cancels host worker `id` (the host is not raised at for it).
  void cancel_host_worker(worker_id id);
  /// Whether the host spawned `id` (and still keeps its record).
  bool is_host_worker(worker_id id) const;

  // Addresses (runtime_addresses.cpp).

  /// The tag this runtime's handles carry in messages: random, so handles of
  /// another runtime, or bytes written by hand, are refused.
  const std::uint64_t tag;
  /// The link to live worker `id`, if it has not ended.
  std::optional<child_link> find(worker_id id) const;
  /// Names `id` `name` until it ends; taken if another worker has it, failed
  /// if `id` has ended.
  lua_vm::name_result register_name(std::string_view name, worker_id id);
  /// Reserves `name` for supervisor `holder`'s children: taken if another
  /// worker has or holds it, failed if `holder` has ended.
  lua_vm::name_result hold_name(std::string_view name, worker_id holder);
  /// Names `child` `name`, which `holder` holds (false when it does not). The
  /// name stays held after the child ends, naming it, until the next bind or
  /// release_name, or the holder's end.
  bool bind_name(std::string_view name, worker_id holder, worker_id child);
  /// `holder` lets go of `name`.
  void release_name(std::string_view name, worker_id holder);
  /// The worker named `name` (one that has ended for a name its supervisor
  /// holds), or 0.
  worker_id lookup(std::string_view name) const;
  /// Posts a name notice to `who` once `name` is registered.
  void await_name(std::string_view name, worker_id who);
  /// `who` no longer waits for `name`.
  void forget_name_wait(std::string_view name, worker_id who);
  /// How many waits for names are listed (for tests).
  std::size_t name_waits() const;
  /// Worker `id` has ended: its names go, and its waits for names when
  /// `awaited` (it asked for one).
  void drop_names(worker_id id, bool awaited) noexcept;
  /// Tells every watcher of the ended worker `id` its end.
  void notify_end(worker_id id, worker_shared& shared, bool ok,
                  std::string_view bytes) noexcept;
  /// Sends `bytes` to any worker's inbox from the host: false when it has
  /// ended. Throws troupe::limit_error when its inbox is full.
  bool host_send(worker_id to, std::string_view bytes);
  /// Calls worker `to` with `bytes` from the host (see troupe::worker::call).
  std::future<value> host_call(worker_id to, std::string_view bytes,
                               std::chrono::nanoseconds timeout);
  /// How a call made for a CAF request ends: with the reply (`v`), or with
  /// the error `e`.
  using call_done = std::function<void(value* v, std::exception_ptr e)>;
  /// Opens a call of the host to `to` that ends through `done`, without a
  /// timeout; the caller files its message as a call with the number
  /// returned. 0 (and `done` never called) when `to` has ended.
  std::uint64_t open_call(worker_id to, call_done done);
  /// The reply to the host's call `call`: false when it was answered already
  /// or has given up.
  bool host_reply(std::uint64_t call, std::string_view bytes) noexcept;
  /// `self` (a native actor) answers call `call` of `caller` (0: the host)
  /// with `bytes`: false when it was answered already, or its caller gave up
  /// or has ended.
  bool reply_from(worker_id self, worker_id caller, std::uint64_t call,
                  std::string_view bytes) noexcept;
  /// Deadlines the host's calls keep listed, answered ones among them (for
  /// tests).
  std::size_t call_deadline_entries();
  /// A worker the host has called ended (watch `token`): its calls fail.
  void host_down(std::uint64_t token) noexcept;
  /// The host's call `call` fails as one whose worker ended before it
  /// replied.
  void host_call_ended(std::uint64_t call) noexcept;
  /// How the host's values carry handles of this runtime.
  const serialization::value_handles& value_handles() const noexcept {
    return value_handles_;
  }
  /// The host's native functions as states reach them.
  const lua_vm::host_functions& host_functions() const noexcept {
    return host_functions_;
  }
  /// A handle of worker `id`, sharing the record of a host child.
  worker make_worker(worker_id id);
  /// How a worker ended, from its end's bytes, as the host reads it.
  exit_info exit_of(bool ok, const std::string& bytes) const;

  // C++ actors (native_actor.cpp, host_callbacks.cpp).

  /// Starts a native actor, a host child, running `handler`; returns its id.
  /// When `watched` is given, the actor ends as soon as that actor does, and
  /// then forgets the CAF peer `caf_key`. Throws as spawn does.
  worker_id spawn_native(native_handler handler, const actor_ref& watched = {},
                         std::uintptr_t caf_key = 0);
  /// See runtime::on_message (`id` is the host's child).
  void on_message(worker_id id, std::function<void(const value&)> callback);
  /// See runtime::on_end.
  void on_end(worker_id id, std::function<void(const exit_info&)> callback);
  /// The observer `o` of worker `id` has taken its end: it leaves the list,
  /// and gives the end callback (possibly set a moment ago) to call.
  std::function<void(const exit_info&)>
  observer_done(worker_id id, const host_observer* o) noexcept;
  /// `who` (a native actor's handler, a callback) held a scheduler thread for
  /// `held`, past the time slice: counted, and reported the first time.
  void note_slow(std::string_view who, std::chrono::nanoseconds held) noexcept;
  /// A host callback threw `what`: counted, and reported the first time.
  void note_callback_error(std::string_view what) noexcept;
  /// The handle worker_of gave the CAF actor keyed `key` (caf_interop.hpp),
  /// or 0.
  worker_id caf_peer(std::uintptr_t key) const;
  /// Gives the CAF actor keyed `key` the handle `id` unless it has one;
  /// returns the one it has.
  worker_id add_caf_peer(std::uintptr_t key, worker_id id);
  /// The CAF actor keyed `key` no longer has the handle `id`.
  void drop_caf_peer(std::uintptr_t key, worker_id id) noexcept;
  /// The actor system (for troupe/caf.hpp). Throws troupe::stopped_error once
  /// shutdown has begun.
  caf::actor_system& system();

  /// See runtime_stats.
  std::atomic<std::size_t> slow_handlers{0};
  std::atomic<std::size_t> callback_errors{0};

  const runtime_config config;
  code_cache cache;
  /// Where require finds modules, for every state of the runtime.
  const std::shared_ptr<const lua_vm::module_catalog> modules;
  /// The shared dicts (runtime_config::shared_dicts); fixed once built.
  lua_vm::dict_set dicts;

  std::atomic<std::size_t> spawned{0};
  std::atomic<std::size_t> failed{0};
  std::atomic<std::size_t> messages{0};

  // Metrics (runtime_metrics.cpp).

  /// The meters of live worker `id` into `out`; false when it has ended.
  bool info(worker_id id, lua_vm::worker_info& out) const;
  /// Every live worker's meters, the totals, the dicts.
  runtime_metrics metrics();
  /// Counts a message of `size` bytes sent from C++: by the acting native
  /// actor, else by the host.
  void count_sent(std::size_t size) noexcept {
    if (acting != nullptr && acting->meters != nullptr)
      acting->meters->sent(size);
    else
      bytes_.fetch_add(size, std::memory_order_relaxed);
  }
  /// Turns the meters' cycles into seconds.
  const lua_vm::cycle_rate cycles;

  /// Workers alive now (not the actors that serve links to other nodes).
  std::size_t alive() const;
  /// Scheduler threads blocked for lack of work (0 once stopped).
  int blocked_threads() const;

private:
  class reaper;
  // Makes links_ (runtime_links.cpp).
  void start_links();
  using actor_maker = std::function<
    actor_ref(worker_id, const std::shared_ptr<worker_shared>&)>;
  // Lists a new actor, made by `make`, in the directory (and as the host's
  // child when `host_child`, its end going to `on_end` when set).
  child_link admit(bool host_child, std::size_t inbox_limit,
                   std::function<void(worker_id, lua_vm::child_end)> on_end,
                   const actor_maker& make, worker_id& id);
  // The end of worker `id` for its observer, if it has one; under mutex_.
  void end_to_observer(worker_id id, bool ok, std::string_view bytes) noexcept;
  // Watched worker `id` (not the host's child) ended: its observer learns it.
  void observer_down(worker_id id, bool ok, std::string_view bytes) noexcept;
  // The observer of `id`, made when there is none; under `lock` (of mutex_),
  // which it releases while it spawns one.
  struct observer_entry {
    std::shared_ptr<host_observer> observer;
    actor_ref actor;
    // Its worker's end has been posted to it.
    bool end_posted = false;
  };
  observer_entry& observer_of(worker_id id, std::unique_lock<std::mutex>& lock);
  struct host_call_state {
    // The call's end goes to `done` when set, else to `promise`.
    std::promise<value> promise;
    call_done done;
    worker_id target;
    // Its timeout (the key of its deadline list), if it has one.
    std::optional<std::chrono::nanoseconds> timeout;
    // Settles the call with the reply `v`, or the error `e` (none: drops it).
    void settle(value* v, std::exception_ptr e) noexcept;
  };
  // The deadlines of the host's calls with one timeout, in the order they
  // were made (so in deadline order): answered calls stay as gaps until
  // they reach the front or a compaction, so the list stays within twice
  // the calls waiting.
  struct deadline_list {
    std::deque<std::pair<lua_vm::clock::time_point, std::uint64_t>> entries;
    std::size_t waiting = 0;
  };
  // Registers call `call` (its state filled in) to `to` under `lock`; the
  // link to post it to, or nullopt (nothing registered) when `to` has ended.
  std::optional<child_link> register_call(std::uint64_t call,
                                          host_call_state state,
                                          std::unique_lock<std::mutex>& lock);
  // Moves the waiters for `name` to `out`; under names_mutex_.
  void take_name_waiters(const std::string& name, std::vector<worker_id>& out);
  // Tells `waiters` that a name was given to `named`.
  void tell_name_waiters(worker_id named,
                         const std::vector<worker_id>& waiters);
  // Drops the entry naming `id` `name` from names_of_; under names_mutex_.
  void unlist_name(worker_id id, const std::string& name) noexcept;
  // Posts a timer mail for each due message timer (the timer queue's
  // thread).
  void fire_message_timers(std::span<const timer_queue::entry> due) noexcept;
  // Times out the calls whose deadline has passed (the timer thread).
  void sweep_calls() noexcept;
  // A call of `state` is settled: its deadline no longer waits; under
  // calls_mutex_.
  void unlist_deadline(const host_call_state& state) noexcept;
  // Arms the timer for the earliest deadline; under calls_mutex_.
  void arm_sweep(lua_vm::clock::time_point at);

  // Removes the host's call `call` (and its watch); nullopt if it has gone.
  std::optional<host_call_state> take_host_call(std::uint64_t call) noexcept;
  // Fails the host's call `call` with `error` (none: drops it).
  void end_host_call(std::uint64_t call, std::exception_ptr error) noexcept;

  // A host thread waiting in select or wait_end (runtime_host.cpp).
  struct host_waiter;
  // Wakes the host threads that wait for `id` (all of them for 0); under
  // mutex_.
  void wake_host_waiters(worker_id id) noexcept;

  // The host's children, and the host threads waiting for them, each woken
  // only by what it waits for; guarded by mutex_.
  mutable std::mutex mutex_;
  std::vector<host_waiter*> host_waiters_;
  lua_vm::child_table host_children_;
  std::unordered_map<worker_id, child_link> host_links_;
  // Set under mutex_ (its waiters wait on it), read without it too.
  std::atomic<bool> stopped_{false};
  // Message bytes sent by the host and by workers that have ended (live
  // workers count theirs in their meters).
  std::atomic<std::uint64_t> bytes_{0};

  std::atomic<worker_id> next_id_{1};
  std::vector<std::weak_ptr<runtime_service>> services_; // guarded by mutex_
  // Host children whose end goes to a function (spawn_request::on_end).
  std::unordered_map<worker_id,
                     std::function<void(worker_id, lua_vm::child_end)>>
    end_observers_; // guarded by mutex_
  mutable std::mutex live_mutex_;
  // Entries of live_ that serve links (worker_shared::serves_links).
  std::size_t link_actors_ = 0;
  std::unordered_map<worker_id, child_link> live_;
  // Names, their owners, and who awaits a name.
  mutable std::mutex names_mutex_;
  std::unordered_map<std::string, worker_id> names_;
  std::unordered_multimap<worker_id, std::string> names_of_;
  std::unordered_multimap<std::string, worker_id> name_waiters_;
  // Names supervisors hold for their children, and by whom.
  std::unordered_map<std::string, worker_id> held_;
  std::unordered_multimap<worker_id, std::string> held_by_;
  // The host's calls in flight, the workers they go to (each watched once
  // for its end), their deadlines by timeout and the timer that sweeps them;
  // guarded by calls_mutex_.
  std::mutex calls_mutex_;
  std::unordered_map<std::uint64_t, host_call_state> host_calls_;
  std::unordered_map<worker_id, child_link> call_targets_;
  std::map<std::chrono::nanoseconds, deadline_list> call_deadlines_;
  std::optional<timer_key> sweep_;
  std::uint64_t next_host_call_ = 1;
  // The observers of workers whose messages or end the host takes with
  // callbacks; guarded by mutex_.
  std::unordered_map<worker_id, observer_entry> observers_;
  // CAF actors with handles (troupe/caf.hpp), by key.
  mutable std::mutex caf_mutex_;
  std::unordered_map<std::uintptr_t, worker_id> caf_peers_;
  std::atomic<bool> slow_reported_{false};
  std::atomic<bool> error_reported_{false};
  // Handles of host children, shared by every troupe::worker naming one;
  // guarded by mutex_.
  std::unordered_map<worker_id, std::weak_ptr<worker_ref>> host_refs_;
  serialization::value_handles value_handles_;
  lua_vm::host_functions host_functions_;
  std::mutex print_mutex_;
  std::unique_ptr<reaper> reaper_;
  // The runtime's one structure for message timers (timer_queue.hpp).
  std::unique_ptr<timer_queue> message_timers_;
  // Nodes (runtime_links.cpp): the peers, and the agent once started.
  std::unique_ptr<node_links> links_;
  std::mutex agent_mutex_;
  std::optional<child_link> agent_;
  std::atomic<worker_id> agent_id_{0};
  // Last, so it is destroyed first: its destructor waits for the actors, which
  // use the members above.
  std::unique_ptr<caf::actor_system_config> system_config_;
  std::unique_ptr<caf::actor_system> system_;
};

} // namespace troupe::detail
