// Compiled scripts by path: spawning 1,000 workers from one file compiles it
// once. An entry is reused while the file's size and modification time are
// unchanged (one stat per load). Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "troupe/bytecode.hpp"

namespace troupe::detail {

/// See the file comment.
class code_cache {
public:
  /// Why a load failed.
  enum class failure { none, missing, syntax };

  /// The compiled script at `path` (chunk name: the path). On failure: nullopt,
  /// `error` says why and `why` which kind. `canonical`, when given, receives
  /// the path with its symlinks resolved (kept with the entry, so a cache hit
  /// costs no more than one stat).
  std::optional<bytecode> load(const std::string& path, std::string& error,
                               failure& why, std::string* canonical = nullptr);

  /// How many compilations the cache has done (a test of the cache's use).
  std::size_t compilations() const;

private:
  struct entry {
    long long size;
    long long mtime_ns;
    bytecode chunk;
    std::string canonical;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::size_t compilations_ = 0;
};

} // namespace troupe::detail
