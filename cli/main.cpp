// The `troupe` command. `troupe run [--threads N] FILE [ARGS...]` runs FILE as
// the root worker of a runtime: it can create, receive, join and sleep; print
// goes to stdout; ARGS arrive as the chunk's `...`; what it sends with
// worker.message is printed too (strings as they are, other values in troupe's
// notation). An uncaught error prints `troupe: <message>` and its traceback on
// stderr, exit status 1; Ctrl-C cancels the script, exit status 130.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "troupe/troupe.hpp"

namespace {

constexpr const char* usage
  = "usage: troupe run [--threads N] FILE [ARGS...]\n"
    "       troupe --help | --version\n"
    "\n"
    "Runs the Lua 5.4 script FILE as the root worker of a troupe runtime; ARGS "
    "arrive as the chunk's `...`.\n"
    "  --threads N   scheduler threads (default: one per hardware thread)\n"
    "Exit status: 0 on success, 1 when the script fails, 2 on a usage error, "
    "130 when interrupted.\n";

volatile std::sig_atomic_t interrupted = 0;

void on_interrupt(int) {
  interrupted = 1;
}

int fail(const std::string& message, const std::string& traceback = {}) {
  std::fprintf(stderr, "troupe: %s\n", message.c_str());
  if (!traceback.empty()) std::fprintf(stderr, "%s\n", traceback.c_str());
  return 1;
}

void show(const troupe::value& v) {
  std::string text = v.is_string() ? v.as_string() : to_string(v);
  std::fprintf(stdout, "%s\n", text.c_str());
  std::fflush(stdout);
}

int run(const char* path, std::size_t threads, int argc, char** argv) {
  troupe::runtime_config config;
  config.threads = threads;
  auto dir = std::filesystem::absolute(path).parent_path();
  config.permissions = {"worker", "load", "fs:read=" + dir.string()};
  // Before the script starts: it may print and be interrupted at once.
  std::signal(SIGINT, on_interrupt);
  troupe::runtime rt{config};
  std::vector<troupe::value> args(argv, argv + argc);
  troupe::worker root = rt.spawn(path, args);
  bool cancelled = false;
  for (;;) {
    if (interrupted && !cancelled) {
      root.cancel();
      cancelled = true;
    }
    try {
      troupe::selection got = rt.receive(std::vector<troupe::worker>{root},
                                         std::chrono::milliseconds{50});
      if (got.timed_out()) continue;
      if (!got[0]) return cancelled ? 130 : 0;
      show(*got[0]);
    } catch (const troupe::script_error& e) {
      if (cancelled) return 130;
      return fail(e.message(), e.traceback());
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 2
      && (std::strcmp(argv[1], "--help") == 0
          || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("troupe %s (Lua 5.4)\n", troupe::version());
    return 0;
  }
  if (argc < 3 || std::strcmp(argv[1], "run") != 0) {
    std::fputs(usage, stderr);
    return 2;
  }
  int next = 2;
  std::size_t threads = 0;
  if (std::strcmp(argv[next], "--threads") == 0) {
    char* end = nullptr;
    long n = next + 1 < argc ? std::strtol(argv[next + 1], &end, 10) : 0;
    if (next + 2 >= argc || end == argv[next + 1] || *end != '\0' || n < 1
        || n > 1024) {
      std::fputs("troupe: --threads needs a number from 1 to 1024, then FILE\n",
                 stderr);
      return 2;
    }
    threads = static_cast<std::size_t>(n);
    next += 2;
  }
  try {
    return run(argv[next], threads, argc - next - 1, argv + next + 1);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
