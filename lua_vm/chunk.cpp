// troupe::compile and loading (see chunk.hpp). Compilation runs in a throwaway
// bare state: the source is parsed as text only, and the dump keeps debug
// information so tracebacks name lines.
#include "lua_vm/chunk.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "troupe/error.hpp"

namespace troupe {

namespace {

struct lua_closer {
  void operator()(lua_State* L) const noexcept {
    lua_close(L);
  }
};

int append_dump(lua_State*, const void* p, std::size_t n, void* ud) noexcept {
  try {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(p), n);
    return 0;
  } catch (...) {
    return 1;
  }
}

struct reader_state {
  const char* data;
  std::size_t size;
};

const char* read_once(lua_State*, void* ud, std::size_t* size) noexcept {
  auto& r = *static_cast<reader_state*>(ud);
  *size = r.size;
  r.size = 0;
  return r.data;
}

} // namespace

namespace {
const std::string no_text;
} // namespace

const std::string& bytecode::name() const noexcept {
  return impl_ ? impl_->name : no_text;
}

const std::string& bytecode::source() const noexcept {
  return impl_ ? impl_->source : no_text;
}

bytecode compile(std::string_view source, std::string_view chunkname) {
  std::unique_ptr<lua_State, lua_closer> owner{luaL_newstate()};
  if (!owner) throw std::bad_alloc{};
  lua_State* L = owner.get();
  std::string name(1, '=');
  name.append(chunkname);
  reader_state rs{source.data(), source.size()};
  int status = lua_load(L, read_once, &rs, name.c_str(), "t");
  if (status != LUA_OK) {
    if (status == LUA_ERRMEM) throw std::bad_alloc{};
    throw compile_error{lua_tostring(L, -1)};
  }
  auto result = std::make_shared<bytecode::impl>();
  result->name = std::string{chunkname};
  result->source = std::string{source};
  if (lua_dump(L, append_dump, &result->dump, 0) != 0) throw std::bad_alloc{};
  return bytecode{std::move(result)};
}

namespace lua_vm {

int load(lua_State* L, const bytecode& bc) noexcept {
  const auto& rep = bytecode_access::get(bc);
  reader_state rs{rep.dump.data(), rep.dump.size()};
  std::string_view name = rep.name;
  char chunkname[256];
  std::snprintf(chunkname, sizeof chunkname, "=%.*s",
                static_cast<int>(name.size()), name.data());
  return lua_load(L, read_once, &rs, chunkname, "b");
}

int open_script(const std::string& path) noexcept {
  return ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

std::string read_script(int fd, const std::string& path, std::size_t max_size) {
  auto refuse = [&](const std::string& why) {
    return error{"cannot read " + path + ": " + why};
  };
  struct ::stat st {};
  if (::fstat(fd, &st) != 0) throw refuse(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw refuse(std::strerror(EISDIR));
  if (!S_ISREG(st.st_mode)) throw refuse("not a regular file");
  auto too_large = [&] {
    return refuse("larger than the script size limit ("
                  + std::to_string(max_size) + " bytes)");
  };
  if (static_cast<unsigned long long>(st.st_size) > max_size) throw too_large();
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  for (;;) {
    // One byte past what fstat said: the file may have grown since.
    if (got == text.size())
      text.resize(std::min(text.size() + 4096, max_size + 1));
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw refuse(std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (got > max_size) throw too_large();
  }
  text.resize(got);
  return text;
}

} // namespace lua_vm

} // namespace troupe
