// Replays the decoder fuzzer's seed corpus and every input it ever crashed on
// (tests/fuzz/regressions) through the same decoder property the fuzzer checks,
// so a fixed crash stays fixed; and the pattern fuzzer's inputs
// (tests/fuzz/patterns: seeds and every difference it found) through its
// differential property.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "fuzz/decoder_check.hpp"
#include "fuzz/pattern_check.hpp"

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

TEST(fuzz_regressions, every_saved_pattern_input_matches_lua) {
  lua_State* reference = luaL_newstate();
  luaL_openlibs(reference);
  int replayed = 0;
  for (const auto& entry :
       fs::directory_iterator{TROUPE_FUZZ_DIR "/patterns"}) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in{entry.path(), std::ios::binary};
    std::stringstream bytes;
    bytes << in.rdbuf();
    auto difference = troupe::test::check_patterns(reference, bytes.str());
    EXPECT_FALSE(difference.has_value()) << entry.path() << "\n"
                                         << difference.value_or("");
    ++replayed;
  }
  lua_close(reference);
  EXPECT_GE(replayed, 29);
}
