// Must not link: lua_vm sits below the actors, so CAF is not among its
// dependencies (tests/layers/CMakeLists.txt expects the linker's refusal).
#include <caf/actor_system_config.hpp>

int main() {
  caf::actor_system_config config;
  return config.slave_mode ? 1 : 0;
}
