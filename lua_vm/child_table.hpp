// What a parent knows of its children: each child's queue of messages (still
// msgpack bytes) and its end (return values or error), and the rules the worker
// module's receive and join follow over them. Shared by script parents (the
// worker module) and the C++ host (troupe::runtime), so both sides keep the
// same semantics: a child's messages come first, then its error is raised once,
// then nil; a select takes one message from every listed child that has one,
// unless one of them has its error next, which is then all it takes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lua_vm/byte_queue.hpp"

namespace troupe::lua_vm {

/// A worker's id, unique within its runtime.
using worker_id = std::uint64_t;

/// How a child ended.
struct child_end {
  /// True for a return, false for an error (or a cancel).
  bool ok = false;
  /// msgpack: the return values as an array, or the error as {message,
  /// traceback, kind, value}.
  std::string bytes;
  /// The worker ended because it was cancelled.
  bool cancelled = false;
};

/// A parent's children: their queued messages, their ends, and the receive
/// and join rules over them. Not thread-safe (its owner serializes access).
class child_table {
public:
  child_table() = default;
  // A copy would keep pointing into the original's records.
  child_table(const child_table&) = delete;
  child_table& operator=(const child_table&) = delete;
  child_table(child_table&&) = default;
  child_table& operator=(child_table&&) = default;

  /// What a select over some children should do now.
  struct decision {
    enum kind_t { wait, take, raise, all_drained } kind = wait;
    /// For raise: the index (in the list given) of the child whose error to
    /// raise.
    std::size_t index = 0;
  };

  /// Registers a new, running child.
  void add(worker_id id);
  /// Whether `id` is a child here.
  bool contains(worker_id id) const;
  /// How many children are recorded.
  std::size_t size() const noexcept {
    return children_.size();
  }
  /// Queues a message from `id`; false (and dropped) for an unknown or
  /// forgotten child.
  bool on_message(worker_id id, std::string_view bytes);
  /// Records the end of `id`; its messages stay receivable.
  void on_end(worker_id id, child_end end);
  /// The parent cancelled `id`: if it ends by that cancel, the end is not
  /// raised at the parent (receive gives its messages, then nil; join still
  /// gives false and the error).
  void note_cancel(worker_id id);

  /// Whether the end of `id` has arrived (then every message it sent is
  /// queued).
  bool dead(worker_id id) const;
  /// What a select over `ids` does now (see the file comment).
  decision select(std::span<const worker_id> ids) const;
  /// Whether `id` has a message queued.
  bool has_message(worker_id id) const;
  /// The next message of `id` (it must have one); stays queued until
  /// pop_message.
  std::string_view front_message(worker_id id) const;
  /// Drops the next message of `id`.
  void pop_message(worker_id id);
  /// Marks the error of `id` raised and returns its bytes.
  const std::string& take_error(worker_id id);
  /// The end of `id`, or nullptr while it runs.
  const child_end* end_of(worker_id id) const;
  /// The parent holds no handle of `id` any more: nobody can receive from it,
  /// so its record (and whatever it still sends) goes away once it has ended.
  void forget(worker_id id);

private:
  struct child {
    byte_queue queue;
    bool ended = false;
    bool error_raised = false;
    bool forgotten = false;
    bool cancel_noted = false;
    child_end end;
  };
  /// The record of `id`, or nullptr. A send, a receive and its bookkeeping
  /// ask for the same child several times in a row, so the last one found is
  /// kept (a node of the map does not move until it is erased).
  const child* find(worker_id id) const;
  child* find(worker_id id);
  void erase(worker_id id);

  std::unordered_map<worker_id, child> children_;
  mutable worker_id last_id_ = 0;
  mutable const child* last_ = nullptr;
};

} // namespace troupe::lua_vm
