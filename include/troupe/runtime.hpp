// troupe::runtime: the actor system that runs script actors. Each worker is a
// Lua state inside a CAF actor; a fixed pool of threads runs any number of
// them. The host spawns workers, sends to them and receives what they send
// back, or reacts to it with callbacks; scripts spawn their own children with
// the `worker` module. C++ takes part as native actors (a handler per message,
// on the same threads) and native functions scripts call. Safe to use from
// many threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/envelope.hpp"
#include "troupe/export.hpp"
#include "troupe/metrics.hpp"
#include "troupe/shared_dict.hpp"
#include "troupe/value.hpp"
#include "troupe/worker.hpp"

namespace troupe {

/// One permission runtime_config::permissions may name.
struct permission_info {
  /// Its name, as in "fs:read".
  std::string name;
  /// Whether it takes a directory scope, as in "fs:read=/data".
  bool scoped = false;
};

/// Every permission there is, in the order the documentation lists them.
TROUPE_API const std::vector<permission_info>& known_permissions();

/// Resource limits of a worker; zero means none. Past one the worker ends with
/// an error ("memory limit exceeded", "instruction limit exceeded", "time limit
/// exceeded") delivered to its parent as its end (to the host as
/// troupe::limit_error or troupe::timeout_error).
struct worker_limits {
  /// Bytes its Lua state may hold, its libraries included.
  std::size_t memory = 0;
  /// VM instructions it may execute (counted in steps of 1,000).
  std::uint64_t instructions = 0;
  /// Wall time from its start, waiting included.
  std::chrono::nanoseconds timeout{0};
};

/// A function of the host that scripts call as `host.NAME(...)`: the
/// arguments and results are deep copies. It runs on the calling script's
/// scheduler thread and should return quickly; an exception it throws is a Lua
/// error in the caller with its what().
using native_function = std::function<std::vector<value>(
  std::span<const value>)>;

/// Per-spawn overrides of the runtime's defaults (unset: the default).
struct spawn_options {
  /// See worker_limits::memory.
  std::optional<std::size_t> memory{};
  /// See worker_limits::instructions.
  std::optional<std::uint64_t> instructions{};
  /// See worker_limits::timeout.
  std::optional<std::chrono::nanoseconds> timeout{};
  /// Unread messages its inbox holds (runtime_config::inbox_limit).
  std::optional<std::size_t> inbox{};
  /// "HOST:PORT" of the node (a `troupe node`) to start it on; empty: here.
  /// The path then resolves beneath the node's root.
  std::string node{};
};

/// How a runtime runs.
struct runtime_config {
  /// Scheduler threads; 0: one per hardware thread.
  std::size_t threads = 0;
  /// Where relative paths of spawn() and the scripts of spawn_source() resolve;
  /// empty: the current directory.
  std::filesystem::path base_dir;
  /// Receives every line scripts print (without the newline), one call per
  /// line, possibly from several threads at once; empty: stdout.
  std::function<void(std::string_view line)> output;
  /// What the workers the host spawns may do (their children inherit it):
  /// "worker" and "load" let a script start workers from files; also
  /// "fs:read[=dir]", "fs:write[=dir]", "exec", "env", "host" for the
  /// `host` table of `functions`, and "shared" for worker.shared, the shared
  /// dicts (known_permissions()).
  /// Empty, the default: nothing. An unknown name throws
  /// std::invalid_argument.
  std::vector<std::string> permissions;
  /// Unread messages a worker's inbox holds before send fails with "inbox
  /// full"; also the unread messages a worker may have queued at its parent
  /// before worker.message fails.
  std::size_t inbox_limit = 100000;
  /// Bytes (of encoded messages) the same queues hold before send, or
  /// worker.message, fails the same way; one message larger than this still
  /// goes into an empty queue (the message size limit bounds it).
  std::size_t inbox_bytes = std::size_t{64} << 20;
  /// The limits of every worker, unless its spawn says otherwise. A script's
  /// child never gets more than its parent's own limits allow.
  worker_limits limits;
  /// The largest script file spawn and worker.create read, in bytes; a larger
  /// one is refused (`cannot read PATH: larger than the script size limit`).
  std::size_t max_script_size = std::size_t{16} << 20;
  /// Where `require` looks for Lua modules, as a Lua search path: templates
  /// separated by ";", "?" standing for the module name (dots as slashes), a
  /// ";;" for the default. Empty: LUA_PATH_5_4, else LUA_PATH, else the
  /// default: the script's directory, /usr/local/share/lua/5.4,
  /// /usr/local/lib/lua/5.4, /usr/share/lua/5.4 and ~/.luarocks/share/lua/5.4,
  /// each as "?.lua" and "?/init.lua". Relative templates resolve against the
  /// requiring script's directory. Scripts read it as `package.path`.
  std::string lua_path;
  /// Whether `require` may read modules beneath the directories of lua_path's
  /// absolute templates without fs:read (io.open still needs fs:read there).
  /// It still needs the "load" permission. `troupe run` sets it.
  bool lua_path_readable = false;
  /// Lua modules shipped by the host as source text, by module name: compiled
  /// once (a syntax error throws troupe::compile_error from the runtime's
  /// constructor) and run by each state on its first `require` of the name,
  /// before any file is searched. Needs no permission: they are the host's.
  std::map<std::string, std::string> preload;
  /// The host's native functions by name, called by scripts as `host.NAME(...)`
  /// (or `host["NAME"](...)`) in states that hold the permission "host"; an
  /// empty function throws std::invalid_argument from the constructor.
  std::map<std::string, native_function> functions;
  /// The shared dicts, by name, with their capacities in bytes: scripts with
  /// the permission "shared" reach them with worker.shared(NAME), C++ with
  /// runtime::shared_dict (see troupe/shared_dict.hpp). A capacity of zero or
  /// an empty name throws std::invalid_argument from the constructor.
  std::map<std::string, std::size_t> shared_dicts;
  /// Workers alive at once in the runtime; past it spawn and worker.create
  /// fail with "worker limit reached (N)".
  std::size_t max_workers = 100000;
  /// Workers alive at once with the same parent (the host counts as one).
  std::size_t max_children = 20000;
  /// How long a worker whose parent ended may go on before it is cancelled.
  std::chrono::milliseconds orphan_grace{1000};
  /// How long a script runs before it is preempted so others get its thread
  /// (fair preemption).
  std::chrono::microseconds time_slice{1000};
  /// How many times an idle scheduler thread looks for work to take from the
  /// others before it blocks (the first few spinning, the rest yielding the
  /// CPU between looks). Any enqueue wakes a blocked thread at once, so this
  /// trades the CPU an idle thread burns for the microseconds of a wake-up.
  std::size_t poll_attempts = 1000;
  /// Messages an actor may handle in a row before it gives its thread back
  /// (at least 1, else the constructor throws std::invalid_argument). Small, so
  /// a preempted script's self-sent "continue" really lets others run first.
  std::size_t max_throughput = 1;
  /// Loads CAF's middleman (BASP), so scripts may start workers on other
  /// nodes (worker.create{node = "HOST:PORT"}) and the runtime may listen()
  /// as a node. Off by default: it costs a thread and a socket multiplexer.
  bool network = false;
  /// The secret this runtime presents to the nodes it starts workers on
  /// (empty: none, for nodes on loopback that ask for none).
  std::string node_secret;
};

/// How a runtime serves as a node (runtime::listen).
struct listen_options {
  /// The secret a peer must present first (empty: none; only on loopback).
  std::string secret;
  /// Workers one peer node may run here at once.
  std::size_t max_workers_per_peer = 1000;
};

/// Counters of a runtime.
struct runtime_stats {
  /// Workers running now.
  std::size_t alive = 0;
  /// Workers started since the runtime began.
  std::size_t spawned = 0;
  /// Workers that ended with an error (cancels included).
  std::size_t failed = 0;
  /// Messages sent by scripts and the host (worker.message, worker.send,
  /// worker::send).
  std::size_t messages = 0;
  /// Workers the host spawned that the runtime still keeps a record of:
  /// running ones, and ended ones a handle still names.
  std::size_t host_workers = 0;
  /// Native handlers and host callbacks that held a scheduler thread past a
  /// time slice (the first one is also reported on the output).
  std::size_t slow_handlers = 0;
  /// Host callbacks (on_message, on_end) that threw (the first one is also
  /// reported on the output).
  std::size_t callback_errors = 0;
};

/// The actor system that runs script actors: spawn workers, send to them,
/// receive what they send back. Thread-safe.
class TROUPE_API runtime {
public:
  /// A runtime with the default configuration.
  runtime();
  /// A runtime configured by `config`.
  explicit runtime(runtime_config config);
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;
  /// Cancels every worker, waits until all have ended, then stops the
  /// scheduler.
  ~runtime();

  /// Starts the script at `path` (relative to base_dir) with `args` as its
  /// `...`, under the runtime's limits as `options` adjust them. Throws
  /// troupe::error for a missing file, troupe::compile_error for a syntax
  /// error, troupe::limit_error past max_workers or max_children.
  worker spawn(const std::filesystem::path& path,
               const std::vector<value>& args = {},
               const spawn_options& options = {});
  /// Starts `source` (named `name` in errors) with `args` as its `...`.
  worker spawn_source(std::string_view source, std::string_view name,
                      const std::vector<value>& args = {},
                      const spawn_options& options = {});

  /// The next message of `w`, waiting as long as needed. nullopt once it is
  /// dead and drained; throws troupe::script_error when its next item is its
  /// error (raised once).
  std::optional<value> receive(const worker& w);
  /// As receive(w), giving nullopt also when `timeout` passes.
  std::optional<value> receive(const worker& w,
                               std::chrono::nanoseconds timeout);
  /// Select: waits until one of `ws` has something, then takes one message from
  /// every one that has one. If one's next item is its error, takes nothing and
  /// throws it. With all dead and drained: all nullopt.
  selection receive(const std::vector<worker>& ws,
                    std::chrono::nanoseconds timeout);
  /// The select above for a braced list, `rt.receive({w1, w2}, 500ms)`; `{w}`
  /// alone selects too.
  selection receive(std::initializer_list<worker> ws,
                    std::chrono::nanoseconds timeout) {
    return receive(std::vector<worker>(ws), timeout);
  }
  /// Waits for the end of `w` without taking its messages.
  exit_info join(const worker& w);
  /// join with a time limit: nullopt on timeout.
  std::optional<exit_info> join(const worker& w,
                                std::chrono::nanoseconds timeout);

  /// Names `w` `name` in this runtime until it ends (scripts find it with
  /// worker.lookup, send and call it by the name). Throws troupe::error when
  /// the name is taken, empty or longer than 256 bytes, or `w` has ended.
  void register_name(std::string_view name, const worker& w);
  /// The worker named `name`, if any.
  std::optional<worker> lookup(std::string_view name) const;

  /// Starts a native actor: `handler` runs on the scheduler threads once per
  /// message sent or call made to the returned handle, which scripts and C++
  /// use like any worker's (send, call, monitor, join). Its sends to workers
  /// made inside the handler carry its handle as the sender. It runs until
  /// cancelled (worker::cancel), the runtime stops, or the handler throws: then
  /// it ends with that error, and its monitors and pending callers see it.
  /// Throws std::invalid_argument for an empty handler,
  /// troupe::limit_error past max_workers or max_children.
  worker spawn_native(native_handler handler);
  /// Serves as a node on `host`:`port` (0: any free port): peers start
  /// workers here with worker.create{node = ...}, beneath base_dir and with
  /// no more than `permissions`. Returns the port. Throws troupe::error
  /// without runtime_config::network, for a non-loopback host without a
  /// secret, or when the port cannot be bound.
  std::uint16_t listen(const std::string& host, std::uint16_t port,
                       const listen_options& options = {});
  /// spawn_native plus register_name(name, ...): a named service. Throws
  /// troupe::error (and starts nothing) when the name is taken or invalid.
  worker provide(std::string_view name, native_handler handler);

  /// Calls `callback` with each message the host's worker `w` sends the host
  /// (worker.message), on a scheduler thread, in order and exactly once, the
  /// ones queued before the call first; receive no longer sees them. Callbacks
  /// of one worker never run concurrently with each other; one that throws is
  /// counted (runtime_stats::callback_errors) and the next message still
  /// comes. Throws troupe::error when `w` is not the host's child or already
  /// has a message callback.
  void on_message(const worker& w, std::function<void(const value&)> callback);
  /// Calls `callback` once with the end of `w` (any worker, native ones
  /// included), after every message the on_message callback gets, on a
  /// scheduler thread; at once (on one) if `w` has ended already. join still
  /// works beside it. Throws troupe::error when `w` already has an end
  /// callback.
  void on_end(const worker& w, std::function<void(const exit_info&)> callback);

  /// The shared dict declared as `name` (runtime_config::shared_dicts);
  /// throws std::invalid_argument when there is none.
  troupe::shared_dict shared_dict(std::string_view name) const;

  /// Counters.
  runtime_stats stats() const;
  /// Each live worker's meters, the runtime's totals, each shared dict's use
  /// (a snapshot: a busy worker's figures move while they are read).
  runtime_metrics metrics() const;
  /// metrics() in Prometheus' text exposition format (prometheus_text).
  std::string metrics_text() const;

private:
  friend struct detail::runtime_access;
  std::shared_ptr<detail::runtime_core> core_;
};

} // namespace troupe
