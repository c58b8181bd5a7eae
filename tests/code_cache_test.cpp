// The code cache: one compilation per file however many workers start from it,
// a fresh one when the file changes, and clear errors for missing files and
// syntax errors. Lock-based, so it also runs under TSan.
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actors/code_cache.hpp"

namespace fs = std::filesystem;
using troupe::detail::code_cache;

namespace {

fs::path write(const std::string& name, const std::string& source) {
  auto path = fs::path{::testing::TempDir()} / name;
  std::ofstream{path} << source;
  return path;
}

} // namespace

TEST(code_cache, compiles_a_file_once_for_many_loads_from_many_threads) {
  auto path = write("cached.lua", "return 1");
  code_cache cache{1 << 20};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        std::string error;
        code_cache::failure why;
        EXPECT_TRUE(cache.load(path.string(), error, why)) << error;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(cache.compilations(), 4u);
  std::string error;
  code_cache::failure why;
  auto before = cache.compilations();
  for (int i = 0; i < 1000; ++i) cache.load(path.string(), error, why);
  EXPECT_EQ(cache.compilations(), before);
}

TEST(code_cache, a_changed_file_is_compiled_again) {
  auto path = write("changing.lua", "return 1");
  code_cache cache{1 << 20};
  std::string error;
  code_cache::failure why;
  auto first = cache.load(path.string(), error, why);
  ASSERT_TRUE(first);
  std::ofstream{path} << "return 22";
  fs::last_write_time(path,
                      fs::last_write_time(path) + std::chrono::seconds{1});
  auto second = cache.load(path.string(), error, why);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->source(), "return 22");
  EXPECT_EQ(cache.compilations(), 2u);
}

TEST(code_cache, missing_files_and_syntax_errors_are_reported) {
  code_cache cache{1 << 20};
  std::string error;
  code_cache::failure why;
  EXPECT_FALSE(cache.load("/nonexistent/a.lua", error, why));
  EXPECT_EQ(why, code_cache::failure::missing);
  EXPECT_EQ(error, "cannot open /nonexistent/a.lua: No such file or directory");
  auto bad = write("bad.lua", "x = = 1");
  EXPECT_FALSE(cache.load(bad.string(), error, why));
  EXPECT_EQ(why, code_cache::failure::syntax);
  EXPECT_EQ(error, bad.string() + ":1: unexpected symbol near '='");
}

// Each of the three marks alone makes a new compilation: the size, the
// modification time (same size), the inode (a new file renamed over the old
// one, with the same size and time).
TEST(code_cache, size_time_or_inode_alone_marks_a_change) {
  auto path = write("marks.lua", "return 1");
  code_cache cache{1 << 20};
  std::string error;
  code_cache::failure why;
  auto load = [&] { return cache.load(path.string(), error, why)->source(); };
  EXPECT_EQ(load(), "return 1");
  std::ofstream{path} << "return 22";
  EXPECT_EQ(load(), "return 22") << "a new size";
  auto time = fs::last_write_time(path);
  std::ofstream{path} << "return 33";
  fs::last_write_time(path, time + std::chrono::seconds{5});
  EXPECT_EQ(load(), "return 33") << "a new time, the same size";
  auto fresh = write("marks.lua.new", "return 44");
  fs::last_write_time(fresh, fs::last_write_time(path));
  fs::rename(fresh, path);
  EXPECT_EQ(load(), "return 44") << "a new inode, the same size and time";
  EXPECT_EQ(cache.compilations(), 4u);
}
