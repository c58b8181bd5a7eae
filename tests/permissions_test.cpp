// Permissions in a sandboxed state: the set's own rules (parse, scopes,
// pledge's narrowing, names), and what each permission unlocks — io and os
// files under fs scopes that `..` and symlinks cannot leave, exec, env, and
// code from files (dofile, loadfile, require) — with the exact refusal.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "lua_test_support.hpp"

namespace fs = std::filesystem;
using troupe::lua_vm::permission;
using troupe::lua_vm::permission_set;
using troupe::lua_vm::state;
using troupe::test::check;
using troupe::test::run_error;

namespace {

// A fresh directory tree: root/data/{a.txt, mod.lua, pkg/init.lua, sub/},
// root/secret.txt, root/data/out -> a symlink to root/secret.txt.
class permissions_test : public ::testing::Test {
protected:
  void SetUp() override {
    root = fs::weakly_canonical(
      fs::path{::testing::TempDir()}
      / ("troupe_perm_" + std::to_string(::getpid())));
    fs::remove_all(root);
    fs::create_directories(root / "data" / "sub");
    fs::create_directories(root / "data" / "pkg");
    std::ofstream{root / "data" / "a.txt"} << "line 1\nline 2\n";
    std::ofstream{root / "data" / "mod.lua"}
      << "return {answer = 42, name = ...}";
    std::ofstream{root / "data" / "pkg" / "init.lua"} << "return 'pkg'";
    std::ofstream{root / "data" / "code.lua"} << "x_from_file = 7 return 8";
    std::ofstream{root / "secret.txt"} << "secret";
    fs::create_symlink(root / "secret.txt", root / "data" / "out");
    data = (root / "data").string();
  }
  void TearDown() override {
    fs::remove_all(root);
  }

  // A state holding `names`, whose relative paths resolve in data/.
  state with(const std::vector<std::string>& names) {
    state vm;
    vm.ctl().permissions = permission_set::parse(names, root);
    vm.ctl().home = data;
    return vm;
  }

  std::string denial(const char* perm, const char* call,
                     const std::string& arg) {
    return std::string{"permission denied: "} + perm + " (" + call + " \"" + arg
           + "\")";
  }

  fs::path root;
  std::string data;
};

TEST_F(permissions_test, names_parse_scope_and_narrow) {
  auto set = permission_set::parse({"load", "fs:read=data", "fs:read=/x/y/",
                                    "fs:write"},
                                   root);
  EXPECT_EQ(set.names(),
            (std::vector<std::string>{"load", "fs:read=" + data, "fs:read=/x/y",
                                      "fs:write"}));
  std::string scope;
  EXPECT_TRUE(set.covers(permission::fs_read, data + "/a/b", scope));
  EXPECT_EQ(scope, data);
  EXPECT_FALSE(set.covers(permission::fs_read, data + "2/a", scope));
  EXPECT_FALSE(set.covers(permission::fs_read, root.string(), scope));
  EXPECT_TRUE(set.covers(permission::fs_write, "/anywhere", scope));
  EXPECT_EQ(scope, "");
  EXPECT_FALSE(set.has(permission::exec));

  auto narrow = set.narrowed({"fs:read=data/sub", "fs:write=/tmp"}, root);
  EXPECT_EQ(narrow.names(),
            (std::vector<std::string>{"fs:read=" + data + "/sub",
                                      "fs:write=/tmp"}));
  EXPECT_THROW(set.narrowed({"exec"}, root), std::invalid_argument);
  EXPECT_THROW(set.narrowed({"fs:read"}, root), std::invalid_argument);
  EXPECT_THROW(set.narrowed({"fs:read=/etc"}, root), std::invalid_argument);
  EXPECT_THROW(permission_set::parse({"exec=/bin"}), std::invalid_argument);
  EXPECT_THROW(permission_set::parse({"teleport"}), std::invalid_argument);
  EXPECT_EQ(permission_set::all().without("exec").has(permission::exec), false);
  EXPECT_EQ(permission_set::all().without("fs:read").has(permission::fs_read),
            false);
}

TEST_F(permissions_test, io_open_reads_inside_the_scope_only) {
  auto vm = with({"fs:read=" + data});
  EXPECT_TRUE(check(vm,
                    "local f = assert(io.open('a.txt')) local s = "
                    "f:read('a') f:close() return s == 'line 1\\nline 2\\n'"));
  EXPECT_TRUE(check(vm, "local n = 0 for l in io.lines('a.txt') do n = n + 1 "
                        "end return n == 2"));
  EXPECT_TRUE(check(vm, "local f, err, code = io.open('missing.txt') return f "
                        "== nil and err:find('No such file') ~= nil and code "
                        "== 2"));
  auto secret = (root / "secret.txt").string();
  EXPECT_EQ(run_error(vm, "io.open('" + secret + "')").message,
            "test:1: " + denial("fs:read", "io.open", secret));
  EXPECT_EQ(run_error(vm, "io.open('../secret.txt')").message,
            "test:1: " + denial("fs:read", "io.open", "../secret.txt"));
  EXPECT_EQ(run_error(vm, "io.open('sub/../../secret.txt')").message,
            "test:1: " + denial("fs:read", "io.open", "sub/../../secret.txt"));
  EXPECT_EQ(run_error(vm, "io.open('out')").message,
            "test:1: " + denial("fs:read", "io.open", "out"));
  EXPECT_EQ(run_error(vm, "io.lines('/etc/passwd')").message,
            "test:1: " + denial("fs:read", "io.lines", "/etc/passwd"));
  EXPECT_EQ(run_error(vm, "io.open('new.txt', 'w')").message,
            "test:1: " + denial("fs:write", "io.open", "new.txt"));
  EXPECT_TRUE(vm.ctl().denied);
  EXPECT_NE(run_error(vm, "io.open('a.txt', 'rw')")
              .message.find("invalid mode"),
            std::string::npos);
}

TEST_F(permissions_test, writing_needs_fs_write_and_stays_in_its_scope) {
  auto vm = with({"fs:read=" + data, "fs:write=" + data + "/sub"});
  EXPECT_TRUE(check(vm, "local f = assert(io.open('sub/n.txt', 'w')) "
                        "f:write('hi') f:close() return io.open('sub/n.txt'):"
                        "read('a') == 'hi'"));
  EXPECT_TRUE(check(vm, "return os.rename('sub/n.txt', 'sub/m.txt') == true "
                        "and os.remove('sub/m.txt') == true and "
                        "io.open('sub/m.txt') == nil"));
  EXPECT_EQ(run_error(vm, "io.open('a.txt', 'r+')").message,
            "test:1: " + denial("fs:write", "io.open", "a.txt"));
  EXPECT_EQ(run_error(vm, "os.remove('a.txt')").message,
            "test:1: " + denial("fs:write", "os.remove", "a.txt"));
  EXPECT_EQ(run_error(vm, "os.rename('sub/x', 'a.txt')").message,
            "test:1: " + denial("fs:write", "os.rename", "sub/x"));
  EXPECT_TRUE(fs::exists(root / "data" / "a.txt"));
}

TEST_F(permissions_test, exec_and_env) {
  auto none = with({});
  EXPECT_EQ(run_error(none, "os.execute('true')").message,
            "test:1: " + denial("exec", "os.execute", "true"));
  EXPECT_EQ(run_error(none, "io.popen('id')").message,
            "test:1: " + denial("exec", "io.popen", "id"));
  EXPECT_EQ(run_error(none, "os.getenv('HOME')").message,
            "test:1: " + denial("env", "os.getenv", "HOME"));
  auto both = with({"exec", "env"});
  EXPECT_TRUE(check(both, "return os.execute('true') == true"));
  EXPECT_TRUE(check(both, "local p = io.popen('echo hi') local s = "
                          "p:read('l') p:close() return s == 'hi'"));
  EXPECT_TRUE(check(both, "return os.getenv('PATH') ~= nil"));
}

TEST_F(permissions_test, code_from_files_needs_load_and_fs_read) {
  auto vm = with({"load", "fs:read=" + data});
  EXPECT_TRUE(check(vm, "return dofile('code.lua') == 8 and x_from_file == 7"));
  EXPECT_TRUE(check(vm, "local env = {} local f = loadfile('code.lua', 't', "
                        "env) f() return env.x_from_file == 7"));
  EXPECT_TRUE(check(vm, "local m, file = require('mod') return m.answer == 42 "
                        "and m.name == 'mod' and file:find('mod.lua') ~= nil "
                        "and require('mod') == m and require('pkg') == 'pkg'"));
  auto missing = run_error(vm, "require('socket.core')").message;
  EXPECT_NE(missing.find("module 'socket.core' not found:\n\tno field "
                         "package.preload['socket.core']\n\tno file '"
                         + data + "/socket/core.lua'\n\tno file '" + data
                         + "/socket/core/init.lua'"),
            std::string::npos)
    << missing;
  EXPECT_EQ(run_error(vm, "dofile('/etc/passwd')").message,
            "test:1: " + denial("fs:read", "dofile", "/etc/passwd"));

  auto no_load = with({"fs:read=" + data});
  EXPECT_EQ(run_error(no_load, "require('mod')").message,
            "test:1: " + denial("load", "require", "mod"));
  EXPECT_EQ(run_error(no_load, "loadfile('code.lua')").message,
            "test:1: " + denial("load", "loadfile", "code.lua"));
  auto no_read = with({"load"});
  EXPECT_EQ(run_error(no_read, "dofile('code.lua')").message,
            "test:1: " + denial("fs:read", "dofile", "code.lua"));
}

TEST_F(permissions_test, pledge_narrows_and_never_widens) {
  auto vm = with({"load", "exec", "fs:read=" + data});
  EXPECT_TRUE(check(vm, "local held = pledge() return #held == 3 and held[1] "
                        "== 'load' and held[2] == 'fs:read="
                          + data + "' and held[3] == 'exec'"));
  EXPECT_TRUE(check(vm, "local held = pledge('fs:read=sub', 'load') return "
                        "#held == 2 and held[2] == 'fs:read="
                          + data + "/sub'"));
  EXPECT_EQ(run_error(vm, "io.open('a.txt')").message,
            "test:1: " + denial("fs:read", "io.open", "a.txt"));
  EXPECT_EQ(run_error(vm, "os.execute('true')").message,
            "test:1: " + denial("exec", "os.execute", "true"));
  EXPECT_NE(run_error(vm, "pledge('exec')")
              .message.find("pledge: 'exec' is not held"),
            std::string::npos);
  EXPECT_NE(run_error(vm, "pledge('fs:read')").message.find("is not held"),
            std::string::npos);
  EXPECT_NE(run_error(vm, "pledge('fly')").message.find("unknown permission"),
            std::string::npos);
  EXPECT_TRUE(check(vm, "return #pledge() == 2"));
  EXPECT_TRUE(check(vm, "pledge() pledge('load') return #pledge() == 1"));
}

} // namespace
