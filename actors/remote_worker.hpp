// A remote worker's stand-in: the local actor that a worker on another node
// is to this runtime. It is listed in the directory like any worker (so
// handles, sends, monitors, joins and names reach it unchanged) and is the
// child of whoever created it. It connects to the node's agent through CAF's
// middleman without blocking a thread, presents the secret, asks for the
// worker, and answers its creator's start call with the outcome (a missing
// file raises in the creator). Then it relays: what locals post to it goes
// to the remote worker's inbox; the remote worker's messages and its end come
// back as its own. A node that dies or stops answering ends it with kind
// "lost", after everything that reached this process from it.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "actors/runtime_core.hpp"

namespace troupe::detail {

/// What a remote worker is started with.
struct remote_request {
  std::string host;
  std::uint16_t port = 0;
  /// Its script, resolved beneath the node's root.
  std::string path;
  /// Its arguments, encoded.
  std::string args;
  std::size_t inbox_limit = 0;
  lua_vm::vm_limits limits;
  /// The permission names its creator holds (the node grants no more).
  std::vector<std::string> permissions;
  /// Its creator (none: the host).
  actor_ref parent;
  worker_id parent_id = 0;
  std::shared_ptr<worker_shared> parent_shared;
};

/// Splits "HOST:PORT" (IPv6 hosts in brackets). Throws troupe::error saying
/// what is wrong ("node 'x' has no valid port ...").
std::pair<std::string, std::uint16_t> parse_node(std::string_view node);

/// What a new stand-in is given.
struct remote_init {
  runtime_core* core;
  worker_id id;
  std::shared_ptr<worker_shared> shared;
  remote_request request;
};

/// One remote worker's stand-in (see the file comment).
class remote_worker : public caf::event_based_actor {
public:
  /// CAF's constructor shape plus what the worker is.
  remote_worker(caf::actor_config& config, remote_init init);

  /// The message handlers.
  caf::behavior make_behavior() override;
  /// Ends it as lost unless it has ended.
  void on_exit() override;

private:
  // refused: the node said no (or was not reached) before the creator's
  // start call arrived; it ends once that call has its answer.
  enum class stage : std::uint8_t { connecting, running, refused, finished };

  void connect();
  void ask_spawn(std::uint64_t token);
  void started(std::uint64_t remote_id);
  void refused(const std::string& why, bool lost);
  // Asks the node to cancel the running worker.
  void ask_cancel();
  void collect_mail();
  // A local's reply (`token`) to a call the remote worker made.
  void reply_mail(std::uint64_t token, std::string_view bytes);
  // Rewrites the handles of what came from the node; false (and said on the
  // runtime's output) when they are refused.
  bool crossed_in(std::string& bytes);
  void relay(std::string frames);
  void answer(std::uint64_t call, std::string& bytes);
  void answer_start(std::string_view outcome);
  void take_start_call(std::uint64_t call);
  void upward(const std::string& frames);
  void from_remote(const std::string& frames);
  void finish(bool ok, std::string bytes, bool cancelled);
  void lose(const std::string& why);
  std::string where() const;

  remote_init init_;
  stage stage_ = stage::connecting;
  caf::actor agent_;
  // The node runtime's tag, and the link's token.
  std::uint64_t node_tag_ = 0;
  std::uint64_t token_ = 0;
  std::uint64_t remote_id_ = 0;
  // The creator's start call (its number), answered once the node replied.
  bool start_seen_ = false;
  std::uint64_t start_call_ = 0;
  // A refusal waiting for the start call: its answer, and the end after it.
  std::string outcome_;
  std::string refusal_;
  bool cancel_asked_ = false;
  // Its creator has ended.
  bool orphaned_ = false;
  // A local's call to the remote worker, by the number it travels under.
  struct caller {
    worker_id id; // 0: the host
    std::uint64_t call;
  };
  std::unordered_map<std::uint64_t, caller> incoming_;
  // The remote worker's calls to its parent: this stand-in's number -> the
  // worker's.
  std::unordered_map<std::uint64_t, std::uint64_t> outgoing_;
  std::string mail_;
};

} // namespace troupe::detail
