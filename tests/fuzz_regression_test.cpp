// Replays the fuzzer's seed corpus and every input it ever crashed on
// (tests/fuzz/regressions) through the same decoder property the fuzzer checks,
// so a fixed crash stays fixed.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "fuzz/decoder_check.hpp"

namespace fs = std::filesystem;

TEST(fuzz_regressions, every_saved_input_decodes_or_fails_cleanly) {
  lua_State* L = luaL_newstate();
  int replayed = 0;
  for (const char* dir :
       {TROUPE_FUZZ_DIR "/corpus", TROUPE_FUZZ_DIR "/regressions"}) {
    for (const auto& entry : fs::directory_iterator{dir}) {
      if (!entry.is_regular_file()
          || entry.path().filename().string().starts_with("."))
        continue;
      std::ifstream in{entry.path(), std::ios::binary};
      std::stringstream bytes;
      bytes << in.rdbuf();
      SCOPED_TRACE(entry.path().string());
      troupe::test::check_decoders(L, bytes.str());
      ++replayed;
    }
  }
  lua_close(L);
  EXPECT_GE(replayed, 9);
}
