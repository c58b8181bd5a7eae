// The code cache (see code_cache.hpp). Compilation runs outside the lock, so
// two first loads of one file may both compile; the second result simply
// replaces the first.
#include "actors/code_cache.hpp"

#include "lua_vm/chunk.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

std::optional<bytecode> code_cache::load(const std::string& path,
                                         std::string& error, failure& why) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  auto mtime = ec ? std::filesystem::file_time_type{}
                  : std::filesystem::last_write_time(path, ec);
  if (!ec) {
    std::lock_guard guard{mutex_};
    auto i = entries_.find(path);
    if (i != entries_.end() && i->second.size == size
        && i->second.mtime == mtime)
      return i->second.chunk;
  }
  try {
    bytecode chunk = compile(lua_vm::read_file(path), path);
    std::lock_guard guard{mutex_};
    ++compilations_;
    if (!ec) entries_.insert_or_assign(path, entry{size, mtime, chunk});
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
