// troupe::compile and loading (see chunk.hpp). Compilation runs in a throwaway
// bare state: the source is parsed as text only, and the dump keeps debug
// information so tracebacks name lines.
#include "lua_vm/chunk.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) throw error{"cannot open " + path + ": " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw error{"cannot read " + path + ": " + std::strerror(errno)};
  return text.str();
}

} // namespace lua_vm

} // namespace troupe
