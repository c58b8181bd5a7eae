// Helpers for tests of troupe::runtime: script files in a folder of the test's
// own, the two-thread configuration the tests run on, and running a script to
// its end.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

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

/// Writes `source` as `name` into `folder`/<this process's id>: ctest runs a
/// file's tests in parallel processes, and each writes the scripts it shares
/// with others at start.
inline std::filesystem::path write_process_script(const std::string& folder,
                                                  const std::string& name,
                                                  const std::string& source) {
  return write_script(folder + "/" + std::to_string(::getpid()), name, source);
}

/// A runtime configuration with two scheduler threads that starts workers
/// from the scripts in `dir` ("worker", "load", "fs:read").
inline runtime_config scripts_in(const std::filesystem::path& dir);

/// A runtime configuration with two scheduler threads, as on CI's machine.
inline runtime_config two_threads() {
  runtime_config config;
  config.threads = 2;
  return config;
}

inline runtime_config scripts_in(const std::filesystem::path& dir) {
  auto c = two_threads();
  c.permissions = {"worker", "load", "fs:read"};
  c.base_dir = dir;
  return c;
}

/// Runs `source` as a host worker with `args` and returns what it returned; a
/// failure, or no end within 20 s, fails the test (with the script's error).
inline std::vector<value> run_script(runtime& rt, const std::string& source,
                                     const std::vector<value>& args = {}) {
  auto w = rt.spawn_source(source, "root", args);
  auto end = rt.join(w, std::chrono::seconds{20});
  if (!end) {
    ADD_FAILURE() << "the script did not end in time";
    return {};
  }
  if (!end->ok) ADD_FAILURE() << end->error->what();
  return end->values;
}

} // namespace troupe::test
