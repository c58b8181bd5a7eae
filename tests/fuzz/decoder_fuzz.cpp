// libFuzzer target for both decoders; the property it checks is in
// decoder_check.hpp.
#include <cstddef>
#include <cstdint>

#include "decoder_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static lua_State* L = luaL_newstate();
  troupe::test::check_decoders(L, {reinterpret_cast<const char*>(data), size});
  return 0;
}
