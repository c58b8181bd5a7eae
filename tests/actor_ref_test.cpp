// detail::actor_ref holds a caf::actor where CAF's headers are not included:
// it must behave as the caf::actor it stores (empty by default, copies naming
// the same actor, a move leaving the source empty), and a message sent
// through it must arrive.
#include <future>

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/actor_ref.hpp"
#include "actors/messages.hpp"

using troupe::detail::actor_ref;

namespace {

struct system_fixture {
  caf::actor_system_config config;
  caf::actor_system system{config};
};

// Fulfils `rung` at its first doorbell, then quits. A class, not a function
// actor: CAF 0.17's function-actor factory binds a null reference (UBSan).
class probe : public caf::event_based_actor {
public:
  probe(caf::actor_config& config, std::promise<void>* rung)
      : caf::event_based_actor(config), rung_(rung) {}

  caf::behavior make_behavior() override {
    return {
      [this](troupe::detail::mail_atom) {
        if (rung_ != nullptr) rung_->set_value();
        quit();
      },
    };
  }

private:
  std::promise<void>* rung_;
};

} // namespace

TEST(actor_ref, an_empty_reference_names_no_actor) {
  actor_ref none;
  EXPECT_FALSE(none);
  EXPECT_EQ(none.id(), 0u);
  EXPECT_FALSE(none.get());
  // Sending to nobody is a no-op, as in CAF.
  none.ring();
  none.cancel();
  none.retire();
}

TEST(actor_ref, copies_and_moves_behave_as_the_caf_actor) {
  system_fixture f;
  auto actor = f.system.spawn<probe>(nullptr);
  actor_ref a{actor};
  ASSERT_TRUE(a);
  EXPECT_EQ(a.id(), actor.id());
  EXPECT_EQ(a.get(), actor);
  actor_ref b = a;
  EXPECT_EQ(b.get(), actor);
  actor_ref c = std::move(b);
  EXPECT_FALSE(b);
  EXPECT_EQ(c.get(), actor);
  b = c;
  EXPECT_EQ(b.id(), actor.id());
  a = actor_ref{};
  EXPECT_FALSE(a);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(actor_ref, what_is_sent_through_it_arrives) {
  system_fixture f;
  std::promise<void> rung;
  auto result = rung.get_future();
  actor_ref{f.system.spawn<probe>(&rung)}.ring();
  EXPECT_EQ(result.wait_for(std::chrono::seconds{10}),
            std::future_status::ready);
}
