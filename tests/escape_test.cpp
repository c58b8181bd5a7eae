// The escape suite: every script in tests/scenarios/sandbox tries one way out
// of the sandbox or past a limit, in a worker of its own. Its first lines say
// what it is given (`-- permissions: ...`, `-- limits: memory=16e6 timeout=0.5
// instructions=1e7`) and what must stop it (`-- expect: <text>`, found in the
// worker's error). Beside it a sibling worker echoes; the host pings it while
// the attempt runs and after it ended, so the host and the other workers are
// shown to carry on.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr auto patience = 10s;

struct attempt {
  std::string name;
  std::string expect;
  std::vector<std::string> permissions;
  troupe::spawn_options limits;
};

void PrintTo(const attempt& a, std::ostream* os) {
  *os << a.name;
}

// The header value after `-- key: `, or empty.
std::string header(const std::string& text, const std::string& key) {
  std::istringstream lines{text};
  std::string line;
  const std::string prefix = "-- " + key + ": ";
  while (std::getline(lines, line) && line.rfind("--", 0) == 0)
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  return {};
}

attempt read_attempt(const fs::path& file) {
  std::ifstream in{file};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  attempt a;
  a.name = file.stem().string();
  a.expect = header(text, "expect");
  std::istringstream words{header(text, "permissions")};
  for (std::string w; words >> w;) a.permissions.push_back(w);
  std::istringstream limits{header(text, "limits")};
  for (std::string w; limits >> w;) {
    auto eq = w.find('=');
    double v = std::stod(w.substr(eq + 1));
    std::string key = w.substr(0, eq);
    if (key == "memory") a.limits.memory = static_cast<std::size_t>(v);
    if (key == "instructions")
      a.limits.instructions = static_cast<std::uint64_t>(v);
    if (key == "timeout")
      a.limits.timeout = std::chrono::nanoseconds{
        static_cast<std::int64_t>(v * 1e9)};
  }
  return a;
}

std::vector<attempt> all_attempts() {
  std::vector<attempt> all;
  for (const auto& entry : fs::directory_iterator{TROUPE_SANDBOX_DIR})
    if (entry.path().extension() == ".lua")
      all.push_back(read_attempt(entry.path()));
  std::sort(all.begin(), all.end(),
            [](const auto& x, const auto& y) { return x.name < y.name; });
  return all;
}

class escape : public ::testing::TestWithParam<attempt> {
protected:
  // A directory of the attempt's own, holding a copy of it (and a symlink
  // pointing out, for the one that tries it).
  fs::path prepare(const attempt& a) {
    auto dir = fs::path{::testing::TempDir()} / ("troupe_escape_" + a.name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(fs::path{TROUPE_SANDBOX_DIR} / (a.name + ".lua"),
                  dir / (a.name + ".lua"));
    fs::create_symlink("/etc/passwd", dir / "link_out");
    return dir;
  }
};

bool echoes(troupe::runtime& rt, troupe::worker& sibling, int n) {
  if (!sibling.send(n)) return false;
  auto got = rt.receive({sibling}, patience);
  return !got.timed_out() && got[0] == troupe::value{n};
}

} // namespace

TEST_P(escape, is_denied_or_contained_while_the_others_carry_on) {
  const attempt& a = GetParam();
  ASSERT_FALSE(a.expect.empty()) << a.name << " has no '-- expect:' line";
  auto dir = prepare(a);
  troupe::runtime_config config;
  config.threads = 2;
  config.base_dir = dir;
  for (const auto& p : a.permissions)
    config.permissions.push_back(p == "fs:read=." ? "fs:read=" + dir.string()
                                                  : p);
  config.max_workers = 200;
  config.max_children = 50;
  troupe::runtime rt{config};
  auto sibling = rt.spawn_source("while true do local v = worker.peek() if v "
                                 "== nil then return end worker.message(v) end",
                                 "sibling");
  auto w = rt.spawn(dir / (a.name + ".lua"), {}, a.limits);
  EXPECT_TRUE(echoes(rt, sibling, 1)) << "the sibling stopped answering";
  auto end = rt.join(w, patience);
  ASSERT_TRUE(end.has_value()) << a.name << " was not stopped in time";
  ASSERT_FALSE(end->ok) << a.name << " ended without an error";
  EXPECT_NE(end->error->message().find(a.expect), std::string::npos)
    << a.name << " ended with: " << end->error->message().substr(0, 300);
  EXPECT_TRUE(echoes(rt, sibling, 2)) << "the sibling stopped answering";
  EXPECT_TRUE(fs::exists(dir / "link_out"));
}

INSTANTIATE_TEST_SUITE_P(sandbox, escape, ::testing::ValuesIn(all_attempts()),
                         [](const auto& test) { return test.param.name; });
