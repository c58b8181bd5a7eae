// libFuzzer target: troupe's pattern functions against Lua's own; the property
// is in pattern_check.hpp. A difference aborts with both outcomes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "pattern_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static lua_State* reference = [] {
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    return L;
  }();
  auto difference = troupe::test::check_patterns(reference,
                                                 {reinterpret_cast<const char*>(
                                                    data),
                                                  size});
  if (difference) {
    std::fprintf(stderr, "pattern functions differ:\n%s\n",
                 difference->c_str());
    std::abort();
  }
  return 0;
}
