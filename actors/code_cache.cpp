// The code cache (see code_cache.hpp). Compilation runs outside the lock, so
// two first loads of one file may both compile; the second result simply
// replaces the first.
#include "actors/code_cache.hpp"

#include <cerrno>
#include <cstring>

#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

#include "lua_vm/chunk.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

namespace {

// Closes a descriptor when it goes.
struct fd_owner {
  int fd;
  ~fd_owner() {
    if (fd >= 0) ::close(fd);
  }
};

// What identifies the version of a file: its inode, size and mtime; a regular
// file only (anything else is never cached).
bool identify(const struct ::stat& st, std::uint64_t& device,
              std::uint64_t& inode, long long& size, long long& mtime) {
  device = st.st_dev;
  inode = st.st_ino;
  size = static_cast<long long>(st.st_size);
  mtime = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL
          + st.st_mtim.tv_nsec;
  return S_ISREG(st.st_mode);
}

} // namespace

std::optional<bytecode> code_cache::find(const std::string& path,
                                         const entry& now,
                                         std::string* canonical) {
  std::lock_guard guard{mutex_};
  auto i = entries_.find(path);
  if (i == entries_.end()) return std::nullopt;
  const entry& e = i->second;
  if (e.device != now.device || e.inode != now.inode || e.size != now.size
      || e.mtime_ns != now.mtime_ns)
    return std::nullopt;
  if (canonical != nullptr) *canonical = e.canonical;
  return e.chunk;
}

std::optional<bytecode> code_cache::cached(const std::string& path,
                                           std::string& canonical) {
  entry now{};
  struct ::stat st {};
  if (::stat(path.c_str(), &st) != 0
      || !identify(st, now.device, now.inode, now.size, now.mtime_ns))
    return std::nullopt;
  return find(path, now, &canonical);
}

std::optional<bytecode> code_cache::load(const std::string& path,
                                         std::string& error, failure& why,
                                         int fd) {
  fd_owner file{fd};
  entry now{};
  struct ::stat st {};
  bool regular = false;
  if (file.fd >= 0) {
    regular = ::fstat(file.fd, &st) == 0
              && identify(st, now.device, now.inode, now.size, now.mtime_ns);
  } else if (::stat(path.c_str(), &st) == 0) {
    regular = identify(st, now.device, now.inode, now.size, now.mtime_ns);
  }
  if (regular) {
    if (auto hit = find(path, now, nullptr)) return hit;
  }
  if (file.fd < 0) file.fd = lua_vm::open_script(path);
  if (file.fd < 0) {
    why = failure::missing;
    error = "cannot open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  try {
    bytecode chunk = compile(lua_vm::read_script(file.fd, path,
                                                 max_script_size_),
                             path);
    std::error_code ec;
    auto resolved = std::filesystem::weakly_canonical(path, ec);
    now.canonical = ec ? path : resolved.string();
    std::lock_guard guard{mutex_};
    ++compilations_;
    if (regular) {
      now.chunk = chunk;
      entries_.insert_or_assign(path, std::move(now));
    }
    why = failure::none;
    return chunk;
  } catch (const compile_error& e) {
    why = failure::syntax;
    error = e.what();
  } catch (const std::exception& e) {
    why = failure::missing;
    error = e.what();
  }
  return std::nullopt;
}

std::size_t code_cache::compilations() const {
  std::lock_guard guard{mutex_};
  return compilations_;
}

} // namespace troupe::detail
