// require on the real runtime: the search path follows Lua's conventions
// (LUA_PATH_5_4, LUA_PATH, ";;" for the default, the script's directory
// first), modules are cached in package.loaded, C modules are refused by
// name, the host preloads modules as source text, and permissions stay in
// charge: require needs load, reading a module fs:read, unless the host made
// the search path's directories readable for require alone. Every module
// tree is laid out here in a temporary directory; nothing is installed.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

namespace fs = std::filesystem;
using troupe::value;
using troupe::test::two_threads;

namespace {

// A fresh tree: TempDir/modules_test/NAME/{app, lib}.
struct module_tree {
  fs::path root;
  fs::path app;
  fs::path lib;

  explicit module_tree(const std::string& name)
      : root(fs::path{::testing::TempDir()} / "modules_test" / name),
        app(root / "app"),
        lib(root / "lib") {
    fs::remove_all(root);
    fs::create_directories(app);
    fs::create_directories(lib);
  }

  void write(const fs::path& file, const std::string& text) const {
    fs::create_directories(file.parent_path());
    std::ofstream{file} << text;
  }
};

// Sets an environment variable for one test, and puts it back.
class scoped_env {
public:
  // Sets `name` to `value`, or unsets it for none.
  scoped_env(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  ~scoped_env() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

private:
  const char* name_;
  std::optional<std::string> old_;
};

// Clears the search-path variables the machine may have set.
struct clean_env {
  scoped_env a{"LUA_PATH_5_4", std::nullopt};
  scoped_env b{"LUA_PATH", std::nullopt};
  scoped_env c{"LUA_CPATH_5_4", std::nullopt};
  scoped_env d{"LUA_CPATH", std::nullopt};
};

troupe::runtime_config reading(const module_tree& t,
                               std::vector<std::string> extra = {}) {
  auto config = two_threads();
  config.permissions = {"load", "fs:read=" + t.root.string()};
  for (auto& p : extra) config.permissions.push_back(std::move(p));
  return config;
}

// What the script at `path` returned (its first value), or its error.
value result_of(troupe::runtime& rt, const fs::path& path) {
  auto w = rt.spawn(path);
  auto end = rt.join(w);
  if (!end.ok) return value{"error: " + end.error->message()};
  return end.values.empty() ? value{} : end.values.front();
}

} // namespace

TEST(modules, the_scripts_directory_comes_first) {
  clean_env env;
  module_tree t{"own_dir"};
  t.write(t.app / "helper.lua", "return {answer = 42}");
  t.write(t.app / "pkg" / "init.lua", "return 'from init.lua'");
  t.write(t.app / "main.lua",
          "local h, file = require('helper') "
          "return {h.answer, require('pkg'), file, package.cpath, "
          "package.config:sub(1, 1), getmetatable(package)}");
  troupe::runtime rt{reading(t)};
  EXPECT_EQ(result_of(rt, t.app / "main.lua"),
            value::array({42, "from init.lua", (t.app / "helper.lua").string(),
                          "", "/", "package"}));
}

TEST(modules,
     lua_path_5_4_wins_over_lua_path_and_double_semicolon_is_the_default) {
  clean_env env;
  module_tree t{"env_path"};
  t.write(t.lib / "json_ish.lua", "return 'from lib'");
  t.write(t.root / "other" / "json_ish.lua", "return 'from other'");
  t.write(t.app / "local_mod.lua", "return 'local'");
  t.write(t.app / "main.lua", "local a = require('json_ish') "
                              "local ok, b = pcall(require, 'local_mod') "
                              "return {a, ok, b, package.path}");
  scoped_env plain{"LUA_PATH", (t.root / "other" / "?.lua").string()};
  {
    // LUA_PATH alone, no ";;": the script's directory is not searched.
    troupe::runtime rt{reading(t)};
    auto got = result_of(rt, t.app / "main.lua");
    EXPECT_EQ(got.as_array().at(0), value{"from other"});
    EXPECT_EQ(got.as_array().at(1), value{false});
    EXPECT_EQ(got.as_array().at(3),
              value{(t.root / "other" / "?.lua").string()});
  }
  scoped_env versioned{"LUA_PATH_5_4", (t.lib / "?.lua").string() + ";;"};
  troupe::runtime rt{reading(t)};
  auto got = result_of(rt, t.app / "main.lua");
  EXPECT_EQ(got.as_array().at(0), value{"from lib"});
  EXPECT_EQ(got.as_array().at(1), value{true});
  EXPECT_EQ(got.as_array().at(2), value{"local"});
  std::string path = got.as_array().at(3).as_string();
  EXPECT_EQ(path.rfind((t.lib / "?.lua").string() + ";./?.lua;./?/init.lua;",
                       0),
            0u)
    << path;
  EXPECT_NE(path.find("/usr/share/lua/5.4/?.lua"), std::string::npos);
}

TEST(modules, the_runtimes_lua_path_is_every_workers_and_childrens) {
  clean_env env;
  module_tree t{"config_path"};
  t.write(t.lib / "shared.lua", "return 'shared'");
  t.write(t.app / "child.lua", "return require('shared'), package.path");
  t.write(t.app / "main.lua",
          "local c = worker.create('child.lua') local ok, a, b = "
          "worker.join(c) return {ok, a, b}");
  auto config = reading(t, {"worker"});
  config.lua_path = (t.lib / "?.lua").string();
  troupe::runtime rt{config};
  EXPECT_EQ(result_of(rt, t.app / "main.lua"),
            value::array({true, "shared", (t.lib / "?.lua").string()}));
}

TEST(modules, a_module_is_loaded_once_per_state_and_kept_in_package_loaded) {
  clean_env env;
  module_tree t{"once"};
  t.write(t.app / "counted.lua", "loads = (loads or 0) + 1 return {n = loads}");
  t.write(t.app / "main.lua",
          "local a = require('counted') local b = require('counted') "
          "return {a == b, loads, package.loaded.counted == a}");
  troupe::runtime rt{reading(t)};
  EXPECT_EQ(result_of(rt, t.app / "main.lua"), value::array({true, 1, true}));
}

TEST(modules, a_missing_module_lists_every_place_tried) {
  clean_env env;
  module_tree t{"missing"};
  t.write(t.app / "main.lua", "require('no.such.mod')");
  auto config = reading(t);
  config.lua_path = "./?.lua;" + (t.lib / "?/init.lua").string();
  troupe::runtime rt{config};
  auto got = result_of(rt, t.app / "main.lua").as_string();
  EXPECT_NE(got.find("module 'no.such.mod' not found:\n\tno field "
                     "package.preload['no.such.mod']\n\tno file '"
                     + (t.app / "no/such/mod.lua").string() + "'\n\tno file '"
                     + (t.lib / "no/such/mod/init.lua").string() + "'"),
            std::string::npos)
    << got;
}

TEST(modules, a_c_module_is_refused_by_name) {
  clean_env env;
  module_tree t{"c_module"};
  t.write(t.lib / "lpeg_like.so", "not really a library");
  t.write(t.app / "main.lua", "require('lpeg_like')");
  scoped_env cpath{"LUA_CPATH_5_4", (t.lib / "?.so").string()};
  troupe::runtime rt{reading(t)};
  auto got = result_of(rt, t.app / "main.lua").as_string();
  EXPECT_NE(got.find("module 'lpeg_like' is a C module; troupe loads Lua "
                     "modules only"),
            std::string::npos)
    << got;
}

TEST(modules, a_module_that_fails_raises_with_its_traceback_and_is_retried) {
  clean_env env;
  module_tree t{"fails"};
  t.write(t.app / "flaky.lua",
          "attempts = (attempts or 0) + 1\n"
          "local function setup() if attempts == 1 then error('not yet') end "
          "end\nsetup() return 'ready'");
  t.write(t.app / "broken.lua", "return = 1");
  t.write(t.app / "main.lua",
          "local ok, err = xpcall(require, debug.traceback, 'flaky') "
          "local again = require('flaky') "
          "local ok2, err2 = pcall(require, 'broken') "
          "return {ok, err, again, ok2, err2}");
  troupe::runtime rt{reading(t)};
  auto got = result_of(rt, t.app / "main.lua");
  EXPECT_EQ(got.as_array().at(0), value{false});
  EXPECT_NE(got.as_array().at(1).as_string().find("flaky.lua:2: not yet"),
            std::string::npos);
  EXPECT_NE(got.as_array().at(1).as_string().find("in local 'setup'"),
            std::string::npos)
    << got.as_array().at(1).as_string();
  EXPECT_EQ(got.as_array().at(2), value{"ready"});
  EXPECT_EQ(got.as_array().at(3), value{false});
  EXPECT_NE(got.as_array().at(4).as_string().find(
              "error loading module 'broken' from file '"
              + (t.app / "broken.lua").string() + "':\n\t"),
            std::string::npos)
    << got.as_array().at(4).as_string();
}

TEST(modules, bad_input_gets_a_clear_error) {
  clean_env env;
  module_tree t{"bad_input"};
  t.write(t.app / "big.lua", "return '" + std::string(5000, 'x') + "'");
  fs::create_directories(t.app / "dir.lua");
  t.write(t.app / "main.lua", "local r = {} "
                              "r[1] = select(2, pcall(require)) "
                              "r[2] = select(2, pcall(require, 'big')) "
                              "r[3] = select(2, pcall(require, 'dir')) "
                              "package.path = {} "
                              "r[4] = select(2, pcall(require, 'anything')) "
                              "return r");
  auto config = reading(t);
  config.max_script_size = 4096;
  troupe::runtime rt{config};
  auto got = result_of(rt, t.app / "main.lua");
  EXPECT_NE(got.as_array().at(0).as_string().find(
              "bad argument #1 to 'require' (string "
              "expected, got no value)"),
            std::string::npos)
    << got.as_array().at(0).as_string();
  EXPECT_NE(got.as_array().at(1).as_string().find(
              "larger than the script size limit "
              "(4096 bytes)"),
            std::string::npos)
    << got.as_array().at(1).as_string();
  EXPECT_NE(got.as_array().at(2).as_string().find("not a regular file"),
            std::string::npos)
    << got.as_array().at(2).as_string();
  EXPECT_NE(got.as_array().at(3).as_string().find(
              "'package.path' must be a string"),
            std::string::npos)
    << got.as_array().at(3).as_string();
}

TEST(modules, the_host_preloads_modules_that_need_no_permission) {
  clean_env env;
  auto config = two_threads();
  config.preload = {{"greeting", "local name = ... return function(who) "
                                 "return 'hello ' .. who .. ' from ' .. name "
                                 "end"}};
  troupe::runtime rt{config};
  auto w = rt.spawn_source("local g, data = require('greeting') "
                           "return g('C++'), data, require('greeting') == g",
                           "main");
  auto end = rt.join(w);
  ASSERT_TRUE(end.ok) << end.error->message();
  EXPECT_EQ(end.values,
            (std::vector<value>{"hello C++ from greeting", ":preload:", true}));
  config.preload = {{"broken", "return = 1"}};
  EXPECT_THROW(troupe::runtime{config}, troupe::compile_error);
}

TEST(modules, permissions_stay_in_charge) {
  clean_env env;
  module_tree t{"permissions"};
  t.write(t.lib / "installed.lua", "return 'installed'");
  t.write(t.app / "main.lua",
          "local ok, m = pcall(require, 'installed') "
          "local opened = pcall(io.open, package.searchpath('installed', "
          "package.path) or 'none') "
          "return {ok, m, opened}");
  auto config = two_threads();
  config.permissions = {"load", "fs:read=" + t.app.string()};
  config.lua_path = "./?.lua;" + (t.lib / "?.lua").string();
  {
    troupe::runtime rt{config};
    auto got = result_of(rt, t.app / "main.lua");
    EXPECT_EQ(got.as_array().at(0), value{false});
    EXPECT_NE(got.as_array().at(1).as_string().find(
                "no access to '" + (t.lib / "installed.lua").string()
                + "' (needs fs:read)"),
              std::string::npos)
      << got.as_array().at(1).as_string();
  }
  // Readable for require: the module loads, io.open of it is still denied.
  config.lua_path_readable = true;
  {
    troupe::runtime rt{config};
    EXPECT_EQ(result_of(rt, t.app / "main.lua"),
              value::array({true, "installed", false}));
  }
  // A link in a readable directory is followed to a Lua file, as
  // distributions link one module into each version's directory, and to
  // nothing else.
  t.write(t.root / "elsewhere" / "real.lua", "return 'linked'");
  t.write(t.root / "elsewhere" / "secret.txt", "return 'not a module'");
  fs::create_symlink(t.root / "elsewhere" / "real.lua", t.lib / "linked.lua");
  fs::create_symlink(t.root / "elsewhere" / "secret.txt", t.lib / "leak.lua");
  t.write(t.app / "links.lua", "local ok, err = pcall(require, 'leak') "
                               "return {require('linked'), ok, err}");
  {
    troupe::runtime rt{config};
    auto got = result_of(rt, t.app / "links.lua");
    EXPECT_EQ(got.as_array().at(0), value{"linked"});
    EXPECT_EQ(got.as_array().at(1), value{false});
    EXPECT_NE(got.as_array().at(2).as_string().find(
                "no access to '" + (t.lib / "leak.lua").string()),
              std::string::npos)
      << got.as_array().at(2).as_string();
  }
  // Without load, require refuses whatever the directories.
  config.permissions = {"fs:read=" + t.root.string()};
  troupe::runtime rt{config};
  auto got = result_of(rt, t.app / "main.lua");
  EXPECT_EQ(got.as_array().at(0), value{false});
  EXPECT_NE(got.as_array().at(1).as_string().find(
              "permission denied: load (require \"installed\")"),
            std::string::npos);
}

TEST(modules, a_pool_job_leaves_no_module_or_path_to_the_next) {
  clean_env env;
  auto config = two_threads();
  config.preload = {{"counted", "return {}"}};
  troupe::runtime rt{config};
  troupe::pool pool{rt, 1};
  auto first = troupe::
    compile("package.path = 'changed' require('counted') return package.path",
            "first");
  auto second = troupe::compile("return package.path ~= 'changed' and "
                                "package.loaded.counted == nil",
                                "second");
  EXPECT_EQ(pool.submit(first, troupe::context{}), value{"changed"});
  EXPECT_EQ(pool.submit(second, troupe::context{}), value{true});
}
