// What runtime::metrics() reports: each live worker's inbox depth, messages
// in and out, time spent running, memory and whether it waits, the runtime's
// totals, and each shared dict's use. runtime::metrics_text() writes the same
// in Prometheus' text exposition format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "troupe/worker.hpp"

namespace troupe {

/// One live worker (a script or a native actor).
struct worker_metrics {
  /// Its handle.
  troupe::worker worker;
  /// The script's chunk name; "native" for a native actor.
  std::string script;
  /// The names it is registered under, sorted.
  std::vector<std::string> names;
  /// "waiting" while it waits for a message, reply or timer; else "running"
  /// (running or ready to run).
  std::string status;
  /// Messages in its inbox it has not taken yet.
  std::size_t inbox = 0;
  /// Messages it has taken in: sends, calls, children's messages, replies,
  /// timers.
  std::uint64_t messages_in = 0;
  /// Messages it has sent: sends, calls, replies, messages to its parent.
  std::uint64_t messages_out = 0;
  /// Bytes (encoded) of those messages.
  std::uint64_t bytes_out = 0;
  /// Seconds it has spent running on a scheduler thread.
  double cpu_seconds = 0;
  /// Bytes its Lua state held after its last run (0 for a native actor).
  std::size_t memory = 0;
};

/// One shared dict.
struct dict_metrics {
  /// Its name (runtime_config::shared_dicts).
  std::string name;
  /// Its capacity in bytes.
  std::size_t capacity = 0;
  /// Bytes its entries take.
  std::size_t used = 0;
  /// Its entries (expired ones not yet freed included).
  std::size_t entries = 0;
  /// Gets that found a live value, and those that did not.
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};

/// A runtime's metrics at one moment.
struct runtime_metrics {
  /// Workers running now.
  std::size_t alive = 0;
  /// Workers started since the runtime began.
  std::size_t spawned = 0;
  /// Workers that ended with an error.
  std::size_t failed = 0;
  /// Messages sent by scripts and the host.
  std::uint64_t messages = 0;
  /// Their bytes (encoded).
  std::uint64_t bytes = 0;
  /// Message timers (worker.after, worker.every) waiting to fire.
  std::size_t timers = 0;
  /// Every dict's hits and misses added up.
  std::uint64_t dict_hits = 0;
  std::uint64_t dict_misses = 0;
  /// The live workers, by id.
  std::vector<worker_metrics> workers;
  /// The shared dicts, by name.
  std::vector<dict_metrics> dicts;
};

/// `m` in Prometheus' text exposition format (version 0.0.4): each metric
/// with `# HELP` and `# TYPE` lines, names prefixed `troupe_`, per-worker
/// series labelled by worker id and script, per-dict ones by dict.
TROUPE_API std::string prometheus_text(const runtime_metrics& m);

} // namespace troupe
