// Must not compile: lua_vm's include root holds lua_vm and serialization only
// (tests/layers/CMakeLists.txt expects the compiler's refusal).
#include "actors/runtime_core.hpp"

int main() {
  return 0;
}
