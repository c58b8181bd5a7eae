// `troupe run` as a user meets it: output, arguments, exit statuses, and errors
// on stderr in the `troupe: <message>` + traceback form.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace {

struct outcome {
  int status;
  std::string out;
};

// Runs the CLI with `args` through the shell (stderr into stdout when `merge`),
// after the shell's `env` assignments.
outcome troupe_cli(const std::string& args, bool merge = true,
                   const std::string& env = {}) {
  std::string cmd = env + std::string{TROUPE_CLI} + " " + args
                    + (merge ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string script(const std::string& name, const std::string& source) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream{path} << source;
  return path;
}

} // namespace

TEST(cli, runs_a_script_with_arguments) {
  auto path = script("args.lua",
                     "local a, b = ... print(select('#', ...), a, b)");
  auto r = troupe_cli("run " + path + " one 'two words'");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "2\tone\ttwo words\n");
}

TEST(cli, an_uncaught_error_prints_message_and_traceback) {
  auto path = script("fails.lua",
                     "local function f()\n  error('it broke')\nend\nf()\n");
  auto r = troupe_cli("run " + path);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out.rfind("troupe: " + path + ":2: it broke\nstack traceback:\n",
                        0),
            0u)
    << r.out;
  EXPECT_NE(r.out.find(path + ":4: in main chunk"), std::string::npos) << r.out;
  EXPECT_EQ(troupe_cli("run " + path, false).out, "");
}

TEST(cli, a_syntax_error_is_reported_with_its_line) {
  auto path = script("syntax.lua", "x = 1\ny = = 2\n");
  auto r = troupe_cli("run " + path);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "troupe: " + path + ":2: unexpected symbol near '='\n");
}

TEST(cli, a_missing_file_is_reported) {
  auto r = troupe_cli("run /nonexistent/x.lua");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "troupe: cannot open /nonexistent/x.lua: No such file or "
                   "directory\n");
}

TEST(cli, help_version_and_usage_errors) {
  auto help = troupe_cli("--help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("usage: troupe run [OPTIONS] FILE [ARGS...]"),
            std::string::npos);
  auto version = troupe_cli("--version");
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out.rfind("troupe 0.", 0), 0u) << version.out;
  EXPECT_EQ(troupe_cli("").status, 2);
  EXPECT_EQ(troupe_cli("walk x.lua").status, 2);
  EXPECT_EQ(troupe_cli("run --threads 0 x.lua").status, 2);
  EXPECT_EQ(troupe_cli("run --threads two x.lua").status, 2);
  EXPECT_EQ(troupe_cli("run --threads 2").status, 2);
}

TEST(cli, the_script_is_the_root_worker) {
  auto child = script("cli_child.lua",
                      "local n = ... worker.message(n + 1) return n * 2");
  auto root = script("cli_root.lua",
                     "local c = worker.create('cli_child.lua', 20)\n"
                     "print('child sent', worker.receive(c))\n"
                     "print('child returned', select(2, worker.join(c)))\n"
                     "worker.sleep(0.01)\n"
                     "worker.message('to the host') worker.message({1, 2})\n");
  auto r = troupe_cli("run --threads 2 " + root);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "child sent\t21\nchild returned\t40\nto the host\n[1, 2]\n");
}

namespace {

// Waits up to 10 s for `pid` to exit; kills it and fails past that.
int bounded_wait(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ADD_FAILURE() << "the process did not exit within 10 s";
  return status;
}

// Starts the CLI with `args` in a process of its own whose stdout is the
// returned pipe's read end (`out`); -1 when it could not start.
pid_t start_cli(const std::vector<std::string>& args, int& out) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    std::vector<char*> argv{const_cast<char*>(TROUPE_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TROUPE_CLI, argv.data());
    _exit(127);
  }
  close(fds[1]);
  out = fds[0];
  return pid;
}

} // namespace

TEST(cli, ctrl_c_cancels_the_script_with_status_130) {
  const char* spinners[] = {"print('spinning') while true do end",
                            "print('spinning') xpcall(function() while true do "
                            "end end, "
                            "function() while true do end end)"};
  for (const char* source : spinners) {
    auto path = script("spin.lua", source);
    int out = -1;
    pid_t pid = start_cli({"run", path}, out);
    ASSERT_GE(pid, 0);
    char buf[64] = {};
    ASSERT_GT(read(out, buf, sizeof buf - 1), 0);
    EXPECT_STREQ(buf, "spinning\n");
    kill(pid, SIGINT);
    int status = bounded_wait(pid);
    close(out);
    ASSERT_TRUE(WIFEXITED(status)) << source;
    EXPECT_EQ(WEXITSTATUS(status), 130) << source;
  }
}

TEST(cli, the_sandbox_applies) {
  auto path = script("sandbox.lua", "print(os.exit, package.loadlib, io.write) "
                                    "print(pcall(function() return "
                                    "io.open('/etc/passwd') end))");
  auto r = troupe_cli("run " + path);
  EXPECT_EQ(r.out, "nil\tnil\tnil\nfalse\t" + path
                     + ":1: permission denied: fs:read (io.open "
                       "\"/etc/passwd\")\n");
}

// A module installed outside the script's directory loads with the default
// permissions (require may read the search path's directories), from
// LUA_PATH_5_4 or --lua-path; io.open of the same file stays denied.
TEST(cli, installed_modules_load_without_allow_all) {
  auto lib = std::filesystem::path{::testing::TempDir()} / "cli_lua_lib";
  std::filesystem::create_directories(lib / "tool");
  std::ofstream{lib / "tool" / "init.lua"} << "return {name = 'tool'}";
  // The script's own directory (readable by default) is beside the library's.
  std::filesystem::create_directories(::testing::TempDir() + "cli_modules_app");
  auto app = script("cli_modules_app/uses_tool.lua",
                    "local t = require('tool') print(t.name) "
                    "print(pcall(io.open, package.searchpath('tool', "
                    "package.path)))");
  auto denied = "false\tpermission denied: fs:read (io.open \""
                + (lib / "tool" / "init.lua").string() + "\")\n";
  auto r = troupe_cli("run --lua-path '" + (lib / "?/init.lua").string() + "' "
                      + app);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "tool\n" + denied);
  r = troupe_cli("run " + app, true,
                 "LUA_PATH_5_4='" + (lib / "?/init.lua").string() + ";;' ");
  EXPECT_EQ(r.out, "tool\n" + denied);
  r = troupe_cli("run --deny load " + app);
  EXPECT_NE(r.out.find("permission denied: load (require \"tool\")"),
            std::string::npos)
    << r.out;
}

TEST(cli, permissions_default_allow_allow_all_and_deny) {
  auto data = script("perm_data.txt", "from the script's directory");
  auto reader = script("perm_reader.lua", "print(io.open(...):read('a')) "
                                          "print(pcall(os.getenv, 'HOME')) "
                                          "print(pcall(os.execute, 'true'))");
  auto dir = std::filesystem::path{data}.parent_path().string();
  auto r = troupe_cli("run " + reader + " " + data);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("from the script's directory\nfalse\tpermission denied: "
                       "env (os.getenv \"HOME\")\nfalse\tpermission denied: "
                       "exec (os.execute \"true\")\n"),
            std::string::npos)
    << r.out;

  r = troupe_cli("run --allow-all --deny exec " + reader + " " + data);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\ntrue\t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("permission denied: exec"), std::string::npos) << r.out;

  auto spawner = script("perm_spawner.lua",
                        "print(pcall(worker.create, 'perm_reader.lua'))");
  r = troupe_cli("run --allow fs:read=" + dir + ",load " + spawner);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("false\tpermission denied: worker (worker.create "
                       "\"perm_reader.lua\")"),
            std::string::npos)
    << r.out;

  EXPECT_EQ(troupe_cli("run --deny teleport " + reader).status, 2);
  EXPECT_EQ(troupe_cli("run --allow teleport " + reader).status, 2);
  EXPECT_EQ(troupe_cli("run --allow " + reader).status, 2);
}

TEST(cli, arguments_are_parsed_with_one_clear_error) {
  auto path = script("echo_args.lua", "print(...)");
  auto r = troupe_cli("run --threads");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out.find("troupe: --threads"), 0u) << r.out;
  EXPECT_EQ(r.out.find("troupe:", 1), std::string::npos) << r.out;
  r = troupe_cli("run ''");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("FILE is an empty path"), std::string::npos) << r.out;
  // Everything after FILE is the script's; `--` ends troupe's options.
  EXPECT_EQ(troupe_cli("run " + path + " a --x -y").out, "a\t--x\t-y\n");
  EXPECT_EQ(troupe_cli("run -- " + path + " b").out, "b\n");
  EXPECT_EQ(troupe_cli("run --threads=2 --allow load --allow fs:read=/ " + path
                       + " -- --z")
              .out,
            "--\t--z\n");
}

TEST(cli, the_roots_children_get_the_orphans_grace) {
  script("grace_child.lua",
         "worker.sleep(0.05) for i = 1, 2 do print('got', (worker.peek())) end "
         "print('then', (worker.peek()))");
  auto main = script("grace_main.lua",
                     "local w = worker.create('grace_child.lua') "
                     "worker.send(w, 'one') worker.send(w, 'two')");
  // Without the grace the child, still asleep, is cancelled as soon as the
  // root returns.
  for (int run = 0; run < 3; ++run) {
    auto r = troupe_cli("run " + main);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "got\tone\ngot\ttwo\nthen\tnil\n");
  }
}

TEST(cli, a_root_error_too_large_for_a_message_still_ends_the_command) {
  auto path = script("huge_error.lua",
                     "error(string.rep('x', 65 * 1024 * 1024))");
  auto r = troupe_cli("run " + path);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("bytes in all)"), std::string::npos)
    << r.out.substr(0, 200);
}

TEST(cli, a_directory_is_not_a_script) {
  auto dir = std::filesystem::path{script("in_dir.lua", "")}.parent_path();
  auto r = troupe_cli("run " + dir.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find(": Is a directory"), std::string::npos) << r.out;
}

TEST(cli, shared_dicts_are_declared_with_their_sizes) {
  auto child = script("dict_child.lua",
                      "worker.shared('hits'):incr('n', 1, 0)");
  auto path = script("dict_root.lua",
                     "local d = worker.shared('hits') "
                     "for i = 1, 3 do worker.join(worker.create('"
                       + child
                       + "')) end "
                         "print(d:get('n'), d:capacity(), "
                         "worker.shared('small'):capacity())");
  auto r = troupe_cli("run --shared hits=1m --shared small=512k --allow-all "
                      + path);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "3\t1048576\t524288\n");
  // The default permissions include "shared" when dicts are declared.
  auto plain = script("dict_plain.lua",
                      "print(worker.shared('x'):set('k', 1))");
  r = troupe_cli("run --shared x=4096 " + plain);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "true\tnil\tfalse\n");
  r = troupe_cli("run --shared x=4096 --allow worker " + plain);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("permission denied: shared"), std::string::npos)
    << r.out;
  for (const char* bad : {"x", "x=", "=5", "x=0", "x=12q", "x=1mm", "x=-1",
                          "x=99999999999999999999"}) {
    r = troupe_cli(std::string{"run --shared '"} + bad + "' " + plain);
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.out.find("--shared"), std::string::npos) << bad << r.out;
  }
}

TEST(cli, the_metrics_file_is_rewritten_while_running_and_at_the_end) {
  auto path = script("metrics_root.lua", "print('up') worker.peek()");
  std::string file = ::testing::TempDir() + "troupe_metrics.prom";
  std::filesystem::remove(file);
  int out = -1;
  pid_t pid = start_cli({"run", "--metrics-file", file, path}, out);
  ASSERT_GE(pid, 0);
  char buf[16] = {};
  ASSERT_GT(read(out, buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "up\n");
  auto read_file = [&] {
    std::ifstream in{file};
    return std::string{std::istreambuf_iterator<char>{in}, {}};
  };
  bool seen_running = false;
  for (int i = 0; i < 1000 && !seen_running; ++i) {
    seen_running = read_file().find("troupe_workers_alive 1\n")
                   != std::string::npos;
    if (!seen_running) usleep(10000);
  }
  EXPECT_TRUE(seen_running) << read_file();
  EXPECT_NE(read_file().find("# TYPE troupe_workers_alive gauge\n"),
            std::string::npos);
  kill(pid, SIGINT);
  int status = bounded_wait(pid);
  close(out);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(read_file().find("troupe_workers_alive 0\n"), std::string::npos)
    << read_file();
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
}

TEST(cli, a_metrics_file_that_cannot_be_written_is_an_error_at_start) {
  auto path = script("metrics_never.lua", "print('ran')");
  auto r = troupe_cli("run --metrics-file /nonexistent-dir/m.prom " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("troupe: --metrics-file /nonexistent-dir/m.prom: "
                       "cannot write"),
            std::string::npos)
    << r.out;
  EXPECT_EQ(r.out.find("ran"), std::string::npos) << r.out;
  std::string dir = ::testing::TempDir() + "metrics_is_a_dir";
  std::filesystem::create_directories(dir);
  r = troupe_cli("run --metrics-file " + dir + " " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("cannot rename"), std::string::npos) << r.out;
}
