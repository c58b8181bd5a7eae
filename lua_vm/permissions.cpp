// Permission sets (see permissions.hpp).
#include "lua_vm/permissions.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "troupe/runtime.hpp"

namespace troupe::lua_vm {

namespace {

constexpr permission every[] = {permission::load,     permission::fs_read,
                                permission::fs_write, permission::exec,
                                permission::env,      permission::worker,
                                permission::host,     permission::shared};

// "known: load, fs:read[=dir], ...", for the error of an unknown name.
std::string known_names() {
  std::string text = "known:";
  for (const auto& p : known_permissions())
    text += (text.size() > 6 ? ", " : " ") + p.name
            + (p.scoped ? "[=dir]" : "");
  return text;
}

std::string canonical_scope(std::string_view scope,
                            const std::filesystem::path& base) {
  namespace fs = std::filesystem;
  fs::path from = base.empty() ? fs::current_path() : fs::absolute(base);
  std::string s = fs::weakly_canonical(from / fs::path{scope}).string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// One name: the permission and its scope (empty: none given).
std::pair<permission, std::string>
parse_one(const std::string& full, const std::filesystem::path& base) {
  std::string_view n = full;
  std::string_view scope;
  bool scoped = false;
  if (auto eq = n.find('='); eq != std::string_view::npos) {
    scope = n.substr(eq + 1);
    n = n.substr(0, eq);
    scoped = true;
  }
  for (permission p : every) {
    if (n != permission_set::name(p)) continue;
    if (!scoped) return {p, {}};
    if ((p == permission::fs_read || p == permission::fs_write)
        && !scope.empty())
      return {p, canonical_scope(scope, base)};
  }
  throw std::invalid_argument{"troupe: unknown permission '" + full + "' ("
                              + known_names() + ")"};
}

} // namespace

bool path_within(const std::string& path, const std::string& dir) noexcept {
  if (dir == "/") return true;
  return path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0
         && (path.size() == dir.size() || path[dir.size()] == '/');
}

const char* permission_set::name(permission p) noexcept {
  switch (p) {
    case permission::load: return "load";
    case permission::fs_read: return "fs:read";
    case permission::fs_write: return "fs:write";
    case permission::exec: return "exec";
    case permission::env: return "env";
    case permission::worker: return "worker";
    case permission::host: return "host";
    case permission::shared: return "shared";
  }
  return "?";
}

void permission_set::grant(permission p, const std::string& scope) {
  bool had = has(p);
  bits_ |= bit(p);
  if (!scoped_kind(p)) return;
  auto& held = scopes(p);
  if (scope.empty()) {
    held.clear();
  } else if (!had || !held.empty()) {
    if (std::find(held.begin(), held.end(), scope) == held.end())
      held.push_back(scope);
  }
}

permission_set permission_set::parse(const std::vector<std::string>& names,
                                     const std::filesystem::path& base) {
  permission_set set;
  for (const auto& full : names) {
    auto [p, scope] = parse_one(full, base);
    set.grant(p, scope);
  }
  return set;
}

permission_set permission_set::all() {
  permission_set set;
  for (permission p : every) set.grant(p, {});
  return set;
}

bool permission_set::covers(permission p, const std::string& path,
                            std::string& scope) const {
  if (!has(p)) return false;
  const auto& held = scopes(p);
  if (held.empty()) {
    scope.clear();
    return true;
  }
  for (const auto& s : held) {
    if (path_within(path, s)) {
      scope = s;
      return true;
    }
  }
  return false;
}

permission_set
permission_set::narrowed(const std::vector<std::string>& names,
                         const std::filesystem::path& base) const {
  permission_set set;
  for (const auto& full : names) {
    auto parsed = parse_one(full, base);
    permission p = parsed.first;
    const std::string& scope = parsed.second;
    bool held = has(p);
    if (held && scoped_kind(p) && !scopes(p).empty()) {
      const auto& mine = scopes(p);
      held = !scope.empty()
             && std::any_of(mine.begin(), mine.end(), [&](const auto& s) {
                  return path_within(scope, s);
                });
    }
    if (!held) throw std::invalid_argument{"'" + full + "' is not held"};
    set.grant(p, scope);
  }
  return set;
}

permission_set permission_set::without(std::string_view name) const {
  permission_set set = *this;
  for (permission p : every) {
    if (name == permission_set::name(p)) {
      set.bits_ &= static_cast<std::uint16_t>(~bit(p));
      if (scoped_kind(p)) set.scopes(p).clear();
      return set;
    }
  }
  throw std::invalid_argument{"troupe: unknown permission '" + std::string{name}
                              + "' (" + known_names() + ")"};
}

std::vector<std::string> permission_set::names() const {
  std::vector<std::string> out;
  for (permission p : every) {
    if (!has(p)) continue;
    if (scoped_kind(p) && !scopes(p).empty()) {
      for (const auto& s : scopes(p))
        out.push_back(std::string{name(p)} + "=" + s);
    } else {
      out.emplace_back(name(p));
    }
  }
  return out;
}

} // namespace troupe::lua_vm

namespace troupe {

const std::vector<permission_info>& known_permissions() {
  static const std::vector<permission_info> all = [] {
    std::vector<permission_info> list;
    for (auto p : lua_vm::every)
      list.push_back({lua_vm::permission_set::name(p),
                      lua_vm::permission_set::scoped_kind(p)});
    return list;
  }();
  return all;
}

} // namespace troupe
