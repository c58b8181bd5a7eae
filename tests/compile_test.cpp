// troupe::compile: source becomes bytecode that keeps its name and source;
// syntax errors are compile_errors in `name:line: message` form; the bytecode
// runs in a sandboxed state and can be loaded many times.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "lua_vm/chunk.hpp"
#include "troupe/error.hpp"

using troupe::compile;

TEST(compile, keeps_name_and_source) {
  auto bc = compile("return 1 + 1", "adder");
  EXPECT_EQ(bc.name(), "adder");
  EXPECT_EQ(bc.source(), "return 1 + 1");
  auto copy = bc;
  EXPECT_EQ(copy.source(), bc.source());
}

TEST(compile, syntax_errors_name_chunk_and_line) {
  try {
    compile("local x = 1\nlocal y = = 2", "script");
    FAIL() << "no compile_error";
  } catch (const troupe::compile_error& e) {
    EXPECT_STREQ(e.what(), "script:2: unexpected symbol near '='");
  }
  EXPECT_THROW(compile("\x1bLua", "binary"), troupe::compile_error);
}

TEST(compile, bytecode_runs_many_times_with_line_numbers) {
  auto bc = compile("local a, b = ...\nif b == 0 then error('division by "
                    "zero') end\nreturn a // b",
                    "divide");
  troupe::lua_vm::state vm;
  lua_State* L = vm.get();
  for (int i = 1; i <= 3; ++i) {
    ASSERT_FALSE(vm.load(bc).has_value());
    lua_pushinteger(L, 10 * i);
    lua_pushinteger(L, 5);
    ASSERT_FALSE(vm.pcall(2, 1).has_value());
    EXPECT_EQ(lua_tointeger(L, -1), 2 * i);
    lua_pop(L, 1);
  }
  ASSERT_FALSE(vm.load(bc).has_value());
  lua_pushinteger(L, 1);
  lua_pushinteger(L, 0);
  auto err = vm.pcall(2, 1);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message, "divide:2: division by zero");
}

// Reads `path` as a script of at most `max` bytes; the error's text, or
// "read N bytes".
std::string read_outcome(const std::string& path, std::size_t max = 1 << 20) {
  int fd = troupe::lua_vm::open_script(path);
  if (fd < 0) return std::string{"cannot open: "} + std::strerror(errno);
  try {
    auto text = troupe::lua_vm::read_script(fd, path, max);
    ::close(fd);
    return "read " + std::to_string(text.size()) + " bytes";
  } catch (const troupe::error& e) {
    ::close(fd);
    return e.what();
  }
}

TEST(compile, only_regular_files_within_the_size_limit_are_read) {
  auto dir = std::filesystem::path{::testing::TempDir()} / "troupe_read";
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "small.lua"} << std::string(100, 'x');
  EXPECT_EQ(read_outcome((dir / "small.lua").string()), "read 100 bytes");
  EXPECT_EQ(read_outcome((dir / "small.lua").string(), 99),
            "cannot read " + (dir / "small.lua").string()
              + ": larger than the script size limit (99 bytes)");
  EXPECT_EQ(read_outcome(dir.string()),
            "cannot read " + dir.string() + ": Is a directory");
  EXPECT_EQ(read_outcome("/dev/zero"),
            "cannot read /dev/zero: not a regular file");
  // A FIFO nobody writes to: neither the open nor the read may block.
  auto fifo = dir / "fifo";
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(read_outcome(fifo.string()),
            "cannot read " + fifo.string() + ": not a regular file");
  EXPECT_EQ(read_outcome("/nonexistent/script.lua"),
            "cannot open: No such file or directory");
}
