// The code cache (see code_cache.hpp). Compilation runs outside the lock, so
// two first loads of one file may both compile; the second result simply
// replaces the first.
#include "actors/code_cache.hpp"

#include <sys/stat.h>

#include "lua_vm/chunk.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

namespace {

std::string resolved(const std::string& path) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : canonical.string();
}

} // namespace

std::optional<bytecode> code_cache::load(const std::string& path,
                                         std::string& error, failure& why,
                                         std::string* canonical) {
  struct ::stat st {};
  bool known = ::stat(path.c_str(), &st) == 0;
  long long size = known ? static_cast<long long>(st.st_size) : 0;
  long long mtime = known
                      ? static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL
                          + st.st_mtim.tv_nsec
                      : 0;
  if (known) {
    std::lock_guard guard{mutex_};
    auto i = entries_.find(path);
    if (i != entries_.end() && i->second.size == size
        && i->second.mtime_ns == mtime) {
      if (canonical != nullptr) *canonical = i->second.canonical;
      return i->second.chunk;
    }
  }
  std::string where = resolved(path);
  if (canonical != nullptr) *canonical = where;
  try {
    bytecode chunk = compile(lua_vm::read_file(path), path);
    std::lock_guard guard{mutex_};
    ++compilations_;
    if (known)
      entries_.insert_or_assign(path, entry{size, mtime, chunk, where});
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
