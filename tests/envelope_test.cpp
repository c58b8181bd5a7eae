// Addresses seen from inside the runtime. The message path's second carrier:
// a plain CAF message (envelope_atom) that any CAF actor can send reaches a
// script's inbox through the script actor's behaviour, as a post box message
// would, with its sender and call; an envelope of an unknown kind is ignored
// and one that cannot be read fails only its own peek. And what waits in the
// runtime goes when it is done: a timed-out lookup's wait, an answered host
// call's timer.
#include <caf/send.hpp>

#include <gtest/gtest.h>

#include "actors/messages.hpp"
#include "actors/runtime_access.hpp"
#include "actors/runtime_core.hpp"
#include "runtime_support.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

void send_envelope(const troupe::detail::child_link& link, std::uint64_t from,
                   std::uint64_t token, troupe::detail::mail_kind kind,
                   std::string bytes) {
  caf::anon_send(link.actor.get(), troupe::detail::envelope_atom::value, from,
                 token, static_cast<std::uint8_t>(kind), std::move(bytes));
}

std::string bytes_of(const value& v) {
  troupe::serialization::byte_sink sink;
  troupe::serialization::encode(v, sink);
  return std::string{sink.view()};
}

} // namespace

TEST(envelope, a_caf_message_reaches_a_scripts_inbox) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto w = rt.spawn_source(R"lua(
    local v, from, call = worker.peek()
    worker.message({v, from == nil, call ~= nil})
    local ok, err = pcall(worker.peek)
    worker.message(err)
    worker.message((worker.peek())))lua",
                           "inbox");
  auto core = troupe::detail::runtime_access::core(rt);
  auto link = core->find(w.id());
  ASSERT_TRUE(link);
  using troupe::detail::mail_kind;
  send_envelope(*link, 0, 0, static_cast<mail_kind>(200), bytes_of("ignored"));
  send_envelope(*link, 0, 0, mail_kind::inbox, bytes_of("hello"));
  send_envelope(*link, 0, 0, mail_kind::inbox, "\xc1");
  send_envelope(*link, 0, 0, mail_kind::inbox, bytes_of("after"));
  EXPECT_EQ(rt.receive(w, 10s), value::array({"hello", true, false}));
  auto err = rt.receive(w, 10s);
  ASSERT_TRUE(err && err->is_string());
  EXPECT_NE(err->as_string().find("worker.peek: malformed message"),
            std::string::npos)
    << err->as_string();
  EXPECT_EQ(rt.receive(w, 10s), value{"after"});
  EXPECT_TRUE(rt.join(w, 10s)->ok);
}

// A lookup that times out leaves no wait behind in the runtime; one that is
// answered neither.
TEST(runtime_names, a_lookup_that_times_out_leaves_no_wait_listed) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto core = troupe::detail::runtime_access::core(rt);
  auto w = rt.spawn_source(R"lua(
    for i = 1, 50 do assert(worker.lookup("never" .. i % 5, 0.001) == nil) end
    worker.message("timed out")
    worker.register("here")
    assert(worker.lookup("here", 1) == worker.self())
    worker.peek())lua",
                           "looker");
  EXPECT_EQ(rt.receive(w, 10s), value{"timed out"});
  EXPECT_EQ(core->name_waits(), 0u);
}

// Answered host calls leave nothing behind: one timer sweeps the deadlines
// of all calls, and the list of deadlines stays within twice the calls
// waiting, even behind a call that is never answered; calls with a shorter
// timeout made later still time out on time.
TEST(runtime_calls, answered_host_calls_leave_no_timer_or_deadline_behind) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto core = troupe::detail::runtime_access::core(rt);
  auto w = rt.spawn_source(R"lua(
    while true do
      local v, _, call = worker.peek()
      if v == nil then return end
      if v >= 0 then worker.reply(call, v + 1) end
    end)lua",
                           "adder");
  auto stuck = w.call(-1, 600s);
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(w.call(i, 600s).get(), value{i + 1});
  EXPECT_EQ(core->pending_timers(), 1u);
  EXPECT_LE(core->call_deadline_entries(), 2u + 64u + 1u);
  auto late = w.call(-1, 20ms);
  EXPECT_THROW(late.get(), troupe::timeout_error);
  w.cancel();
  ASSERT_EQ(stuck.wait_for(10s), std::future_status::ready);
  EXPECT_THROW(stuck.get(), troupe::error);
  EXPECT_EQ(core->call_deadline_entries(), 0u);
}
