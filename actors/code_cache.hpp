// Compiled scripts by path: spawning 1,000 workers from one file compiles it
// once. An entry is reused while the file's identity, size and modification
// time are unchanged (one stat per hit); it keeps the path with its symlinks
// resolved, for the caller's permission check. Only regular files up to a size
// limit are read, and never by a read that could block. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "troupe/bytecode.hpp"

namespace troupe::detail {

/// Compiled scripts by path, reused while the file is unchanged.
/// Thread-safe.
class code_cache {
public:
  /// A cache that refuses scripts larger than `max_script_size` bytes.
  explicit code_cache(std::size_t max_script_size)
      : max_script_size_(max_script_size) {}

  /// Why a load failed.
  enum class failure { none, missing, syntax };

  /// The compiled script at `path` (chunk name: the path), read from `fd`
  /// when it is not -1 (the cache closes it). On failure: nullopt, `error` says
  /// why and `why` which kind.
  std::optional<bytecode> load(const std::string& path, std::string& error,
                               failure& why, int fd = -1);

  /// The script at `path` if it is cached and unchanged (nothing is read),
  /// with `canonical` set to its path with symlinks resolved; else nullopt.
  std::optional<bytecode> cached(const std::string& path,
                                 std::string& canonical);

  /// How many compilations the cache has done (a test of the cache's use).
  std::size_t compilations() const;

private:
  struct entry {
    std::uint64_t device;
    std::uint64_t inode;
    long long size;
    long long mtime_ns;
    bytecode chunk;
    std::string canonical;
  };
  std::optional<bytecode> find(const std::string& path, const entry& now,
                               std::string* canonical);

  const std::size_t max_script_size_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::size_t compilations_ = 0;
};

} // namespace troupe::detail
