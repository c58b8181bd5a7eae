// The script actor: one sandboxed Lua state run as a CAF event-based actor. The
// state is created inside the actor, on a scheduler thread, when the actor gets
// its first message. The script runs in the state's root coroutine; a worker
// call that waits yields it back to the actor, which returns to CAF and resumes
// the coroutine when the awaited message, timer or cancel arrives.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/event_based_actor.hpp>

#include "actors/runtime_core.hpp"
#include "actors/sets_no_timeouts.hpp"
#include "lua_vm/script_runner.hpp"

namespace troupe::detail {

/// What a new script actor is given.
struct script_init {
  runtime_core* core;
  worker_id id;
  spawn_request request;
  std::shared_ptr<worker_shared> shared;
};

/// One worker: a script runner inside a CAF actor, woken by its mail,
/// timers, children's ends and cancels.
class script_actor : public caf::event_based_actor,
                     public sets_no_timeouts,
                     public lua_vm::worker_transport {
public:
  /// CAF's constructor shape plus what the worker runs.
  script_actor(caf::actor_config& config, script_init init);
  ~script_actor() override;

  /// The message handlers.
  caf::behavior make_behavior() override;
  /// Closes the Lua state (in the actor's own context).
  void on_exit() override;

  // worker_transport
  std::optional<bytecode> load_script(const std::string& path, int fd,
                                      std::string& error) noexcept override;
  std::optional<bytecode>
  cached_script(const std::string& path,
                std::string& canonical) noexcept override;
  worker_id spawn_child(const bytecode& chunk, std::string args,
                        const lua_vm::child_options& options,
                        std::string& error) noexcept override;
  worker_id spawn_remote(std::string_view node, const std::string& path,
                         std::string args, const lua_vm::child_options& options,
                         std::string& error) noexcept override;
  worker_id lookup_remote(std::string_view node,
                          std::string& error) noexcept override;
  void cancel_lookup(worker_id asker) noexcept override;
  void cancel_child(worker_id child) noexcept override;
  bool send_to_parent(std::string_view bytes) noexcept override;
  void message_taken(worker_id child, std::size_t size) noexcept override;
  void start_timer(std::uint64_t token,
                   lua_vm::clock::duration delay) noexcept override;
  bool arm_message_timer(std::uint64_t id,
                         lua_vm::clock::time_point due) noexcept override;
  void inbox_taken(std::size_t size) noexcept override;
  lua_vm::send_result send_to(worker_id to, std::uint64_t call,
                              std::string_view bytes) noexcept override;
  void awaiting_reply(std::uint64_t call) noexcept override;
  bool reply_to(worker_id caller, std::uint64_t call,
                std::string_view bytes) noexcept override;
  bool watch(worker_id target, std::uint64_t token) noexcept override;
  void unwatch(worker_id target, std::uint64_t token) noexcept override;
  bool alive(worker_id id) noexcept override;
  lua_vm::name_result register_name(std::string_view name) noexcept override;
  lua_vm::name_result hold_name(std::string_view name) noexcept override;
  bool bind_name(std::string_view name, worker_id child) noexcept override;
  void release_name(std::string_view name) noexcept override;
  worker_id lookup(std::string_view name) noexcept override;
  bool await_name(std::string_view name) noexcept override;
  void forget_name_wait(std::string_view name) noexcept override;
  void forget_peer(worker_id id) noexcept override;
  bool info(worker_id id, lua_vm::worker_info& out) noexcept override;

private:
  void start();
  /// Acts on how far a run of the script got (call once per run): come back
  /// after a preemption, send the end.
  void after(lua_vm::run_status status);
  void wake_if_ready();
  /// Moves what the post box holds into the inbox and the children's queues.
  void collect_mail();
  /// A troupe::value a CAF actor sent: into the inbox (a request as a call).
  void take_caf_value(const value& v);
  /// Files one message where it belongs (inbox, a child's queue, the call in
  /// flight, the ends watched for).
  void file(const mail_header& h, std::string_view bytes);
  /// The link to actor `id` (a child, or any other found in the runtime's
  /// directory and kept while a handle of it lives here); nullptr once it has
  /// ended.
  const child_link* link_to(worker_id id) noexcept;
  /// Rings `actor` from this actor's context (CAF then runs it next on this
  /// thread).
  void ring(const actor_ref& actor);
  void finish(lua_vm::script_end end);
  /// Ends the worker with the error `e` (or, for none, "worker ended
  /// unexpectedly") unless its end was already sent.
  void fail_from(std::exception_ptr e) noexcept;
  void on_down(const caf::down_msg& msg);
  lua_vm::vm_limits child_limits(const lua_vm::vm_limits& asked) const;
  /// Whether another child fits under max_children (else `error` says so).
  bool room_for_child(std::string& error) const;
  /// Records a new child: its link, and the monitor of its actor.
  void adopt(child_link link, worker_id id);

  script_init init_;
  std::optional<lua_vm::script_runner> runner_;
  std::unordered_map<worker_id, child_link> children_;
  /// The running children by CAF actor id, for their down messages.
  std::unordered_map<caf::actor_id, worker_id> child_ids_;
  /// Links to the other actors this worker has handles of.
  std::unordered_map<worker_id, child_link> peers_;
  /// The batch collect_mail takes from the post box (its buffer is reused).
  std::string mail_;
  lua_vm::clock::time_point started_at_;
  bool started_ = false;
  bool finished_ = false;
  /// It has waited for a name (which may still list it as a waiter).
  bool awaited_name_ = false;
};

} // namespace troupe::detail
