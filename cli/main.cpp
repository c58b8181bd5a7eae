// The `troupe` command. `troupe run FILE [ARGS...]` runs a script in a
// sandboxed state: print goes to stdout, the arguments arrive as the chunk's
// `...`, and an uncaught error prints `troupe: <message>` and its traceback on
// stderr with exit status 1.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "lua_vm/chunk.hpp"
#include "lua_vm/state.hpp"
#include "troupe/error.hpp"
#include "troupe/version.hpp"

namespace {

constexpr const char* usage = "usage: troupe run FILE [ARGS...]\n"
                              "       troupe --help | --version\n"
                              "\n"
                              "Runs the Lua 5.4 script FILE in troupe's "
                              "sandbox; ARGS arrive as the chunk's `...`.\n"
                              "Exit status: 0 on success, 1 when the script "
                              "fails, 2 on a usage error.\n";

int fail(const std::string& message, const std::string& traceback = {}) {
  std::fprintf(stderr, "troupe: %s\n", message.c_str());
  if (!traceback.empty()) std::fprintf(stderr, "%s\n", traceback.c_str());
  return 1;
}

int run(const char* path, int argc, char** argv) {
  troupe::bytecode chunk = troupe::compile(troupe::lua_vm::read_file(path),
                                           path);
  troupe::lua_vm::state vm;
  lua_State* L = vm.get();
  if (auto err = vm.load(chunk)) return fail(err->message);
  if (!lua_checkstack(L, argc)) return fail("too many arguments");
  for (int i = 0; i < argc; ++i) lua_pushstring(L, argv[i]);
  if (auto err = vm.pcall(argc, 0)) return fail(err->message, err->traceback);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 2
      && (std::strcmp(argv[1], "--help") == 0
          || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("troupe %s (%s)\n", troupe::version(), LUA_RELEASE);
    return 0;
  }
  if (argc < 3 || std::strcmp(argv[1], "run") != 0) {
    std::fputs(usage, stderr);
    return 2;
  }
  try {
    return run(argv[2], argc - 3, argv + 3);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
