// The `troupe` command. `troupe run [OPTIONS] FILE [ARGS...]` runs FILE as the
// root worker of a runtime: it can create, receive, join and sleep; print goes
// to stdout; ARGS arrive as the chunk's `...`; what it sends with
// worker.message is printed too (strings as they are, other values in troupe's
// notation). Its permissions are `worker`, `load` and `fs:read` of its own
// directory unless --allow or --allow-all says otherwise; --deny takes names
// away. `--shared NAME=SIZE` declares shared dicts, `--metrics-file F` keeps
// F rewritten with the runtime's metrics. An uncaught error prints `troupe:
// <message>` and its traceback on stderr, exit status 1; Ctrl-C cancels the
// script, exit status 130. When the root ends, the workers it left get the
// grace every orphan gets before the command exits. Arguments are parsed by
// CLI11 (help, one clear error, exit status 2 for a usage error).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "node.hpp"
#include "services.hpp"
#include "troupe/troupe.hpp"

namespace {

std::vector<std::string> permission_names() {
  std::vector<std::string> names;
  for (const auto& p : troupe::known_permissions()) names.push_back(p.name);
  return names;
}

std::string permission_help() {
  std::string list;
  for (const auto& p : troupe::known_permissions())
    list += (list.empty() ? "" : ", ") + p.name + (p.scoped ? "[=dir]" : "");
  return "Permissions: " + list
         + ". Default: worker, load and fs:read of the script's directory. "
           "Relative scopes resolve against the current directory.\nExit "
           "status: 0 on success, 1 when the script fails, 2 on a usage "
           "error, 130 when interrupted.";
}

// What `troupe run` was asked for.
struct run_options {
  std::size_t threads = 0;
  bool allow_all = false;
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  std::string lua_path;
  std::vector<std::string> shared;
  std::string metrics_file;
  std::string secret_file;
  bool network = false;
  std::string file;
  std::vector<std::string> args;
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

std::vector<std::string> permissions_for(const run_options& opts,
                                         bool allow_given) {
  std::vector<std::string> names = opts.allow;
  if (opts.allow_all) {
    names = permission_names();
  } else if (!allow_given) {
    auto dir = std::filesystem::absolute(opts.file).parent_path();
    names = {"worker", "load", "fs:read=" + dir.string()};
    // Dicts declared on the command line are there to be used.
    if (!opts.shared.empty()) names.push_back("shared");
  }
  for (const auto& denied : opts.deny) {
    std::erase_if(names, [&](const std::string& n) {
      return n == denied || n.rfind(denied + "=", 0) == 0;
    });
  }
  return names;
}

// Runs the root until it ends; its messages are shown. Returns the status.
int run_root(troupe::runtime& rt, troupe::worker& root) {
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
    } catch (const troupe::error& e) {
      if (cancelled) return 130;
      const auto* s = dynamic_cast<const troupe::script_error*>(&e);
      return fail(s != nullptr ? s->message() : e.what(),
                  s != nullptr ? s->traceback() : "");
    }
  }
}

int run(const run_options& opts, bool allow_given) {
  troupe::runtime_config config;
  config.threads = opts.threads;
  config.permissions = permissions_for(opts, allow_given);
  config.base_dir = std::filesystem::current_path();
  config.lua_path = opts.lua_path;
  // Installed modules work without --allow-all: require (with `load`) may
  // read the search path's directories; io.open still may not.
  config.lua_path_readable = true;
  // worker.create{node = ...} reaches other processes' `troupe node`.
  config.network = opts.network || !opts.secret_file.empty();
  if (!opts.secret_file.empty())
    config.node_secret = troupe_cli::read_secret(opts.secret_file);
  std::string error;
  for (const auto& d : opts.shared)
    config.shared_dicts.insert(*troupe_cli::parse_dict(d, error));
  // Before the script starts: it may print and be interrupted at once.
  std::signal(SIGINT, on_interrupt);
  troupe::runtime rt{config};
  // After the runtime, so it stops (with a last write) before the runtime
  // goes; before the script, so a file that cannot be written is reported at
  // once.
  std::optional<troupe_cli::metrics_file> metrics;
  if (!opts.metrics_file.empty()) {
    metrics.emplace(opts.metrics_file);
    metrics->start(rt);
  }
  std::vector<troupe::value> args(opts.args.begin(), opts.args.end());
  troupe::worker root = rt.spawn(opts.file, args);
  int status = run_root(rt, root);
  // The root's children are orphans now: peek gives them nil, and they are
  // cancelled after the grace unless they end first. Ctrl-C ends the wait.
  // (A poll: the runtime has no event for its last worker's end.)
  while (!interrupted && rt.stats().alive > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  return interrupted ? 130 : status;
}

// How many of argv's words are troupe's: up to and including FILE, the first
// word after `run` that is neither an option nor an option's value (or the
// word after `--`). The words after it are the script's own, whatever they
// look like, as with `lua FILE ARGS...`.
int troupe_words(const CLI::App& run_cmd, int argc, char** argv) {
  int i = 1;
  while (i < argc && std::string_view{argv[i]} != "run") ++i;
  for (++i; i < argc; ++i) {
    std::string_view word{argv[i]};
    if (word == "--") return std::min(argc, i + 2);
    if (word.size() < 2 || word[0] != '-') return i + 1;
    if (word.find('=') != std::string_view::npos) continue;
    const CLI::Option* opt = run_cmd.get_option_no_throw(std::string{word});
    if (opt != nullptr && opt->get_items_expected_min() > 0) ++i;
  }
  return argc;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"troupe runs Lua 5.4 scripts as actors.\n"
               "usage: troupe run [OPTIONS] FILE [ARGS...]\n"
               "       troupe node --listen HOST:PORT [OPTIONS]",
               "troupe"};
  app.set_version_flag("--version", std::string{"troupe "} + troupe::version()
                                      + " (Lua 5.4)");
  app.require_subcommand(1);
  run_options opts;
  CLI::App* run_cmd = app.add_subcommand("run",
                                         "Run the Lua script FILE as the root "
                                         "worker of a troupe runtime; "
                                         "ARGS arrive as the chunk's `...`.");
  run_cmd->footer(permission_help());
  run_cmd
    ->add_option("--threads", opts.threads,
                 "scheduler threads (default: one per hardware thread)")
    ->check(CLI::Range(1, 1024));
  auto* allow = run_cmd
                  ->add_option("--allow", opts.allow,
                               "grant these permissions instead of the "
                               "default, e.g. --allow fs:read=./data,load")
                  ->delimiter(',')
                  ->expected(1)
                  ->take_all();
  run_cmd->add_flag("--allow-all", opts.allow_all, "grant every permission");
  run_cmd->add_option("--deny", opts.deny, "take a permission away")
    ->check(CLI::IsMember(permission_names()))
    ->expected(1)
    ->take_all();
  run_cmd->add_option("--lua-path", opts.lua_path,
                      "where require looks for Lua modules (a Lua search "
                      "path; ';;' stands for the default; default: "
                      "LUA_PATH_5_4, LUA_PATH, or the script's directory and "
                      "Lua 5.4's standard ones)");
  run_cmd
    ->add_option("--shared", opts.shared,
                 "declare a shared dict, e.g. --shared cache=1m (sizes in "
                 "bytes or with k, m, g); scripts reach it with "
                 "worker.shared(NAME) and get the permission shared unless "
                 "--allow says otherwise")
    ->check([](const std::string& d) {
      std::string error;
      troupe_cli::parse_dict(d, error);
      return error;
    })
    ->expected(1)
    ->take_all();
  run_cmd->add_option("--metrics-file", opts.metrics_file,
                      "rewrite this file every second with the runtime's "
                      "metrics in Prometheus text format (for node_exporter's "
                      "textfile collector)");
  run_cmd->add_flag("--network", opts.network,
                    "load CAF's middleman, so the script may start workers "
                    "on nodes (worker.create{node = \"HOST:PORT\", ...})");
  run_cmd->add_option("--secret-file", opts.secret_file,
                      "present this file's first line to the nodes the "
                      "script starts workers on");
  troupe_cli::node_options node_opts;
  CLI::App* node_cmd = troupe_cli::add_node_command(app, node_opts);
  run_cmd->add_option("FILE", opts.file, "the script")
    ->required()
    ->check([](const std::string& f) {
      return f.empty() ? std::string{"FILE is an empty path"} : std::string{};
    });
  int ours = troupe_words(*run_cmd, argc, argv);
  try {
    app.parse(ours, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "troupe: %s\nRun 'troupe run --help' for usage.\n",
                 e.what());
    return 2;
  }
  opts.args.assign(argv + ours, argv + argc);
  try {
    if (node_cmd->parsed()) return troupe_cli::run_node(node_opts);
    return run(opts, allow->count() > 0);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "troupe: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
