// The differential property of troupe's pattern functions: for any subject,
// pattern, start and replacement, the sandbox's string.find, match, gmatch and
// gsub give what Lua 5.4's own give — the same values, or an error with the
// same message. An input is read as: one byte choosing the function, the start
// and the replacement; one byte for the subject's length (up to 63); the
// subject; the rest (up to 48 bytes) the pattern. Two outcomes are not
// compared: Lua's "pattern too complex" (its matcher recurses in C and stops
// at 200 levels; troupe's has no depth limit) and a search that troupe's
// instruction budget stops (a pathological pattern, where Lua's own would run
// as long).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <lua.hpp>

#include "lua_vm/state.hpp"

namespace troupe::test {

/// Runs `expr` (a Lua expression list) in L and renders its values
/// (`type:value, ...`), or its error (`error: ...`); `collect(iter)` renders
/// what an iterator gives (up to 64 rounds of three values).
inline std::string evaluate(lua_State* L, const std::string& expr) {
  static const std::string renderer = R"(
local function show(ok, ...)
  if not ok then return "error: " .. tostring((...)) end
  local t = table.pack(...)
  local out = {}
  for i = 1, t.n do out[i] = type(t[i]) .. ":" .. tostring(t[i]) end
  return table.concat(out, ", ")
end
local function collect(iter)
  local out = {}
  for a, b, c in iter do
    out[#out + 1] = tostring(a) .. "|" .. tostring(b) .. "|" .. tostring(c)
    if #out == 64 then break end
  end
  return table.concat(out, " ")
end
return show(pcall(function() return )";
  std::string source = renderer + expr + " end))";
  std::string out;
  if (luaL_loadstring(L, source.c_str()) == LUA_OK
      && lua_pcall(L, 0, 1, 0) == LUA_OK) {
    out = lua_tostring(L, -1);
  } else {
    out = std::string{"harness error: "} + lua_tostring(L, -1);
  }
  lua_pop(L, 1);
  return out;
}

namespace detail {

// The expression each selector runs over the globals S (subject), P
// (pattern), I (start) and R (replacement).
inline const char* const pattern_calls[] = {
  "string.find(S, P, I)",  "string.find(S, P, I, true)",
  "string.match(S, P, I)", "collect(string.gmatch(S, P, I))",
  "string.gsub(S, P, R)",  "string.gsub(S, P, R, 2)",
};

// [-0, +0] Sets the globals and runs the call in L; the rendered outcome.
inline std::string run_pattern_call(lua_State* L, std::string_view subject,
                                    std::string_view pattern, int selector) {
  lua_pushlstring(L, subject.data(), subject.size());
  lua_setglobal(L, "S");
  lua_pushlstring(L, pattern.data(), pattern.size());
  lua_setglobal(L, "P");
  static const int starts[] = {1, 2, -3, 0, 100};
  lua_pushinteger(L, starts[(selector / 6) % 5]);
  lua_setglobal(L, "I");
  switch ((selector / 30) % 4) {
    case 0: lua_pushliteral(L, "<%0>"); break;
    case 1: lua_pushliteral(L, "%1-%2"); break;
    case 2:
      luaL_dostring(L, "return function(a, b) return b and a .. b or a end");
      break;
    default: luaL_dostring(L, "return {a = 'A', [''] = 'E'}");
  }
  lua_setglobal(L, "R");
  return evaluate(L, pattern_calls[selector % 6]);
}

} // namespace detail

/// Checks the property on `input`; the difference found, or nullopt.
inline std::optional<std::string> check_patterns(lua_State* reference,
                                                 std::string_view input) {
  if (input.size() < 2) return std::nullopt;
  int selector = static_cast<unsigned char>(input[0]);
  std::size_t n = static_cast<unsigned char>(input[1]) % 64;
  input.remove_prefix(2);
  std::string_view subject = input.substr(0, std::min(n, input.size()));
  input.remove_prefix(subject.size());
  std::string_view pattern = input.substr(0, 48);
  lua_vm::state_config config;
  config.limits.instructions = 2000000;
  lua_vm::state sandboxed{config};
  std::string ours = detail::run_pattern_call(sandboxed.get(), subject, pattern,
                                              selector);
  if (sandboxed.ctl().tripped != lua_vm::stop_reason::none) return std::nullopt;
  std::string theirs = detail::run_pattern_call(reference, subject, pattern,
                                                selector);
  if (theirs.find("pattern too complex") != std::string::npos)
    return std::nullopt;
  if (ours == theirs) return std::nullopt;
  return "troupe: " + ours + "\nLua:    " + theirs;
}

} // namespace troupe::test
