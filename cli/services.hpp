// The `troupe run` options for the runtime's services: `--shared NAME=SIZE`
// declarations of shared dicts, and `--metrics-file F`, which rewrites F with
// the runtime's metrics in Prometheus text every second (node_exporter's
// textfile collector convention: written beside F, then renamed over it, so
// a reader never sees half a file).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "troupe/runtime.hpp"

namespace troupe_cli {

/// `NAME=SIZE` (SIZE in bytes, or with a k, m or g suffix: 512k, 1m) as a
/// name and a byte count; nullopt with `error` set when malformed.
std::optional<std::pair<std::string, std::size_t>>
parse_dict(const std::string& text, std::string& error);

/// Writes a runtime's metrics to a file every second while it lives, and once
/// more when it goes.
class metrics_file {
public:
  /// Checks that `path` can be written by writing an empty file there now;
  /// throws std::invalid_argument saying why not.
  explicit metrics_file(std::string path);
  metrics_file(const metrics_file&) = delete;
  metrics_file& operator=(const metrics_file&) = delete;
  /// Stops the writer after a last write.
  ~metrics_file();

  /// Starts writing `rt`'s metrics (which must outlive this object).
  void start(const troupe::runtime& rt);

private:
  /// Writes `text` beside the file, then renames it over the file; the
  /// error's text, empty on success.
  std::string write(const std::string& text) const;
  void run();

  std::string path_;
  const troupe::runtime* rt_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread writer_;
};

} // namespace troupe_cli
