// `troupe node --listen HOST:PORT`: serve workers to other troupe processes
// (DESIGN.md "Nodes"). Peers start workers here with worker.create{node =
// "HOST:PORT", path = ...}; paths resolve beneath --root, permissions are at
// most --allow's. Loopback unless told otherwise, and then only with
// --secret-file. Runs until SIGINT or SIGTERM, then ends its workers and
// exits 0.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace troupe_cli {

/// What `troupe node` was asked for.
struct node_options {
  std::string listen;
  std::string root;
  std::vector<std::string> allow;
  std::string secret_file;
  std::size_t max_workers = 1000;
  std::size_t threads = 0;
};

/// The secret in the file at `path`: its text without trailing newlines.
/// Throws std::invalid_argument when it cannot be read or is empty.
std::string read_secret(const std::string& path);

/// Adds the `node` subcommand to `app`, filling `opts`.
CLI::App* add_node_command(CLI::App& app, node_options& opts);

/// Serves until SIGINT or SIGTERM; returns the exit status. Throws
/// std::invalid_argument for a usage error, troupe::error when it cannot
/// listen.
int run_node(const node_options& opts);

} // namespace troupe_cli
