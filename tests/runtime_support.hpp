// Helpers for tests of troupe::runtime: script files in a folder of the test's
// own, and the two-thread configuration the tests run on.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "troupe/runtime.hpp"

namespace troupe::test {

/// Writes `source` as `name` into the folder `folder` under the test temp
/// directory (made if missing) and returns the file's path.
inline std::filesystem::path write_script(const std::string& folder,
                                          const std::string& name,
                                          const std::string& source) {
  auto dir = std::filesystem::path{::testing::TempDir()} / folder;
  std::filesystem::create_directories(dir);
  std::ofstream{dir / name} << source;
  return dir / name;
}

/// A runtime configuration with two scheduler threads, as on CI's machine.
inline runtime_config two_threads() {
  runtime_config config;
  config.threads = 2;
  return config;
}

} // namespace troupe::test
