// Compiled scripts by path: spawning 1,000 workers from one file compiles it
// once. An entry is reused while the file's size and modification time are
// unchanged. Thread-safe.
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
  /// `error` says why and `why` which kind.
  std::optional<bytecode> load(const std::string& path, std::string& error,
                               failure& why);

  /// How many compilations the cache has done (a test of the cache's use).
  std::size_t compilations() const;

private:
  struct entry {
    std::uintmax_t size;
    std::filesystem::file_time_type mtime;
    bytecode chunk;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::size_t compilations_ = 0;
};

} // namespace troupe::detail
