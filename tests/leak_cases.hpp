// The ways a job can try to leave something behind for the next job on the
// same state, each with a check that the next job sees nothing of it. Used by
// the job runner's tests and, through a real pool, by the pool's.
#pragma once

#include <ostream>

namespace troupe::test {

/// One attempt: `attempt` runs in one job, then `check` in the next must
/// return true.
struct leak_case {
  const char* name;
  const char* attempt;
  const char* check; // returns true when nothing leaked
};

inline void PrintTo(const leak_case& c, std::ostream* os) {
  *os << c.name;
}

inline const leak_case leak_cases[] = {
  {"new_global", "x = 1", "return x == nil"},
  {"through_G", "_G.x = 1", "return x == nil and _G.x == nil"},
  {"rawset_G", "rawset(_G, 'x', 1)", "return rawget(_G, 'x') == nil"},
  {"replace_string_upper", "string.upper = function() return 'pwned' end",
   "return ('a'):upper() == 'A' and string.upper('b') == 'B'"},
  {"new_string_field", "string.foo = 1", "return string.foo == nil"},
  {"rawset_string", "rawset(string, 'foo', 1)",
   "return string.foo == nil and rawget(string, 'foo') == nil"},
  {"string_metatable_index",
   "getmetatable('').__index = function() return 'pwned' end",
   "return ('a'):upper() == 'A' and ('a').len == string.len"},
  {"string_metatable_field", "getmetatable('').__index.upper = 1",
   "return ('a'):upper() == 'A'"},
  {"rawset_string_metatable", "rawset(getmetatable(''), '__index', {})",
   "return ('a'):upper() == 'A'"},
  {"setmetatable_G",
   "setmetatable(_G, {__index = function() return 'pwned' end})",
   "return getmetatable(_G) == nil and undefined == nil"},
  {"setmetatable_library",
   "setmetatable(math, {__index = function() return "
   "1 end})",
   "return getmetatable(math) == nil and math.nothing == nil"},
  {"remove_table_insert", "table.insert = nil",
   "local t = {} table.insert(t, 1) return t[1] == 1"},
  {"collectgarbage_stop", "collectgarbage('stop')",
   "return collectgarbage('isrunning')"},
  {"collectgarbage_generational", "collectgarbage('generational')",
   "return collectgarbage('incremental') == 'incremental'"},
  {"suspended_coroutine",
   "co = coroutine.create(function() coroutine.yield() end) "
   "coroutine.resume(co)",
   "return co == nil"},
  {"randomseed", "math.randomseed(42)",
   "local v = math.random(1, 1 << 40) math.randomseed(42) "
   "return v ~= math.random(1, 1 << 40)"},
  {"load_into_globals", "load('x = 1')()", "return x == nil"},
};

} // namespace troupe::test
