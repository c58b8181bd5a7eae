// The `troupe` command. `troupe run [OPTIONS] FILE [ARGS...]` runs FILE as the
// root worker of a runtime: it can create, receive, join and sleep; print goes
// to stdout; ARGS arrive as the chunk's `...`; what it sends with
// worker.message is printed too (strings as they are, other values in troupe's
// notation). Its permissions are `worker`, `load` and `fs:read` of its own
// directory unless --allow or --allow-all says otherwise; --deny takes names
// away. An uncaught error prints `troupe: <message>` and its traceback on
// stderr, exit status 1; Ctrl-C cancels the script, exit status 130.
#include <algorithm>
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
  = "usage: troupe run [OPTIONS] FILE [ARGS...]\n"
    "       troupe --help | --version\n"
    "\n"
    "Runs the Lua 5.4 script FILE as the root worker of a troupe runtime; ARGS "
    "arrive as the chunk's `...`.\n"
    "  --threads N        scheduler threads (default: one per hardware "
    "thread)\n"
    "  --allow LIST       grant these permissions instead of the default, "
    "e.g.\n"
    "                     --allow fs:read=./data,load (repeatable)\n"
    "  --allow-all        grant every permission\n"
    "  --deny NAME        take a permission away (repeatable)\n"
    "Permissions: load, fs:read[=dir], fs:write[=dir], exec, env, worker. "
    "Default:\n"
    "worker, load and fs:read of the script's directory. Relative scopes "
    "resolve\nagainst the current directory.\n"
    "Exit status: 0 on success, 1 when the script fails, 2 on a usage error, "
    "130 when interrupted.\n";

// What the command line asked for.
struct options {
  std::size_t threads = 0;
  bool allow_given = false;
  bool allow_all = false;
  std::vector<std::string> allow;
  std::vector<std::string> deny;
};

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

std::vector<std::string> permissions_for(const char* path,
                                         const options& opts) {
  std::vector<std::string> names = opts.allow;
  if (opts.allow_all) {
    names = {"load", "fs:read", "fs:write", "exec", "env", "worker"};
  } else if (!opts.allow_given) {
    auto dir = std::filesystem::absolute(path).parent_path();
    names = {"worker", "load", "fs:read=" + dir.string()};
  }
  for (const auto& denied : opts.deny) {
    std::erase_if(names, [&](const std::string& n) {
      return n == denied || n.rfind(denied + "=", 0) == 0;
    });
  }
  return names;
}

int run(const char* path, const options& opts, int argc, char** argv) {
  troupe::runtime_config config;
  config.threads = opts.threads;
  config.permissions = permissions_for(path, opts);
  config.base_dir = std::filesystem::current_path();
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
  options opts;
  auto value_of = [&](const char* flag) -> const char* {
    if (next + 1 >= argc) {
      std::fprintf(stderr, "troupe: %s needs a value\n", flag);
      return nullptr;
    }
    next += 2;
    return argv[next - 1];
  };
  while (next < argc && std::strncmp(argv[next], "--", 2) == 0) {
    const char* flag = argv[next];
    if (std::strcmp(flag, "--allow-all") == 0) {
      opts.allow_all = true;
      ++next;
    } else if (std::strcmp(flag, "--threads") == 0) {
      const char* v = value_of(flag);
      char* end = nullptr;
      long n = v != nullptr ? std::strtol(v, &end, 10) : 0;
      if (v == nullptr || end == v || *end != '\0' || n < 1 || n > 1024) {
        std::fputs("troupe: --threads needs a number from 1 to 1024\n", stderr);
        return 2;
      }
      opts.threads = static_cast<std::size_t>(n);
    } else if (std::strcmp(flag, "--allow") == 0) {
      const char* v = value_of(flag);
      if (v == nullptr) return 2;
      opts.allow_given = true;
      std::string list = v;
      for (std::size_t from = 0; from <= list.size();) {
        auto comma = std::min(list.find(',', from), list.size());
        if (comma > from) opts.allow.push_back(list.substr(from, comma - from));
        from = comma + 1;
      }
    } else if (std::strcmp(flag, "--deny") == 0) {
      const char* v = value_of(flag);
      if (v == nullptr) return 2;
      static const char* const known[] = {"load", "fs:read", "fs:write",
                                          "exec", "env",     "worker"};
      if (std::none_of(std::begin(known), std::end(known),
                       [&](const char* k) { return std::strcmp(k, v) == 0; })) {
        std::fprintf(stderr,
                     "troupe: --deny takes a permission name (load, fs:read, "
                     "fs:write, exec, env, worker), not '%s'\n",
                     v);
        return 2;
      }
      opts.deny.emplace_back(v);
    } else {
      std::fprintf(stderr, "troupe: unknown option %s\n%s", flag, usage);
      return 2;
    }
  }
  if (next >= argc) {
    std::fputs(usage, stderr);
    return 2;
  }
  try {
    return run(argv[next], opts, argc - next - 1, argv + next + 1);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
