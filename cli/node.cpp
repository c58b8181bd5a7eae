// `troupe node` (see node.hpp).
#include "node.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "troupe/troupe.hpp"

namespace troupe_cli {

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_stop(int) {
  stop_requested = 1;
}

// "HOST:PORT" (port 0: any free one) as its parts.
std::pair<std::string, std::uint16_t> split_listen(const std::string& text) {
  auto colon = text.rfind(':');
  auto bad = [&] {
    return std::invalid_argument{"--listen: '" + text
                                 + "' is not HOST:PORT (PORT 0: any free "
                                   "port)"};
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw bad();
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  for (char ch : text.substr(colon + 1)) {
    if (ch < '0' || ch > '9') throw bad();
    port = port * 10 + static_cast<unsigned long>(ch - '0');
    if (port > 65535) throw bad();
  }
  return {host, static_cast<std::uint16_t>(port)};
}

} // namespace

std::string read_secret(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) throw std::invalid_argument{"--secret-file: cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
    secret.pop_back();
  if (secret.empty())
    throw std::invalid_argument{"--secret-file: " + path + " is empty"};
  return secret;
}

CLI::App* add_node_command(CLI::App& app, node_options& opts) {
  CLI::App* cmd = app.add_subcommand("node",
                                     "Serve workers to other troupe "
                                     "processes (worker.create{node = "
                                     "\"HOST:PORT\", ...}) until SIGINT or "
                                     "SIGTERM.");
  cmd
    ->add_option("--listen", opts.listen,
                 "HOST:PORT to listen on (PORT 0: any free port; a host "
                 "other than loopback needs --secret-file)")
    ->required();
  cmd->add_option("--root", opts.root,
                  "the directory remote workers' paths resolve beneath "
                  "(default: the current directory)");
  cmd
    ->add_option("--allow", opts.allow,
                 "the most remote workers may do (default: worker, load, "
                 "fs:read of the root); a worker gets no more than its "
                 "creator holds")
    ->delimiter(',')
    ->expected(1)
    ->take_all();
  cmd->add_option("--secret-file", opts.secret_file,
                  "a file whose first line peers must present before "
                  "anything else");
  cmd
    ->add_option("--max-workers", opts.max_workers,
                 "workers one peer may run here at once (default 1000)")
    ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
  cmd
    ->add_option("--threads", opts.threads,
                 "scheduler threads (default: one per hardware thread)")
    ->check(CLI::Range(1, 1024));
  return cmd;
}

int run_node(const node_options& opts) {
  auto [host, port] = split_listen(opts.listen);
  troupe::runtime_config config;
  config.threads = opts.threads;
  config.network = true;
  config.base_dir = std::filesystem::absolute(
    opts.root.empty() ? std::filesystem::current_path()
                      : std::filesystem::path{opts.root});
  if (!std::filesystem::is_directory(config.base_dir))
    throw std::invalid_argument{"--root: " + config.base_dir.string()
                                + " is not a directory"};
  config.permissions = opts.allow;
  if (opts.allow.empty())
    config.permissions = {"worker", "load",
                          "fs:read=" + config.base_dir.string()};
  troupe::listen_options listening;
  if (!opts.secret_file.empty())
    listening.secret = read_secret(opts.secret_file);
  listening.max_workers_per_peer = opts.max_workers;
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  troupe::runtime rt{config};
  auto bound = rt.listen(host, port, listening);
  std::printf("troupe node: listening on %s:%u\n", host.c_str(),
              static_cast<unsigned>(bound));
  std::fflush(stdout);
  while (stop_requested == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  return 0;
}

} // namespace troupe_cli
