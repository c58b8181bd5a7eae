// troupe::value: construction, typed access, the key order that keeps maps
// canonical, equality and printing.
#include "troupe/value.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>

#include "troupe/error.hpp"
#include "troupe/worker.hpp"

namespace troupe {

namespace {

[[noreturn]] void wrong_kind(const char* accessor, value::kind actual) {
  bool vowel = actual == value::kind::integer || actual == value::kind::array;
  throw type_error{std::string{"troupe::value::"} + accessor + ": the value is "
                   + (vowel ? "an " : "a ") + to_string(actual)};
}

// A float key with an integral value is the same key as the integer, as in Lua.
value normalized_key(value key) {
  switch (key.type()) {
    case value::kind::boolean:
    case value::kind::integer:
    case value::kind::string: return key;
    case value::kind::floating: {
      double d = key.as_double();
      if (std::isnan(d))
        throw type_error{"troupe::value: NaN cannot be a map key"};
      if (d >= -0x1p63 && d < 0x1p63 && std::floor(d) == d)
        return value{static_cast<std::int64_t>(d)};
      return key;
    }
    default:
      throw type_error{std::string{"troupe::value: "} + to_string(key.type())
                       + " cannot be a map key"};
  }
}

// Strict weak order on (normalized) keys: by kind, then by content.
bool key_less(const value& x, const value& y) {
  if (x.type() != y.type()) return x.type() < y.type();
  switch (x.type()) {
    case value::kind::boolean: return x.as_bool() < y.as_bool();
    case value::kind::integer: return x.as_int() < y.as_int();
    case value::kind::floating: return x.as_double() < y.as_double();
    default: return x.as_string() < y.as_string();
  }
}

bool entry_less(const std::pair<value, value>& x,
                const std::pair<value, value>& y) {
  return key_less(x.first, y.first);
}

void append_quoted(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "nan";
  } else if (std::isinf(d)) {
    out += d < 0 ? "-inf" : "inf";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    out += buf;
    if (std::string_view{buf}.find_first_of(".e") == std::string_view::npos)
      out += ".0";
  }
}

bool is_container(const value& v) noexcept {
  return v.is_array() || v.is_map();
}

// Writes a scalar, or opens a container (true: its elements follow).
bool append_or_open(std::string& out, const value& v) {
  switch (v.type()) {
    case value::kind::nil: out += "nil"; break;
    case value::kind::boolean: out += v.as_bool() ? "true" : "false"; break;
    case value::kind::integer: out += std::to_string(v.as_int()); break;
    case value::kind::floating: append_double(out, v.as_double()); break;
    case value::kind::string: append_quoted(out, v.as_string()); break;
    case value::kind::array: out += '['; return true;
    case value::kind::map: out += '{'; return true;
    case value::kind::handle:
      out += "worker: " + std::to_string(v.as_worker().id());
      break;
  }
  return false;
}

// Depth first with a stack of its own, so any depth prints.
void append(std::string& out, const value& root) {
  struct frame {
    const value* container;
    std::size_t next;
  };
  std::vector<frame> open;
  if (append_or_open(out, root)) open.push_back({&root, 0});
  while (!open.empty()) {
    const value& c = *open.back().container;
    std::size_t i = open.back().next++;
    if (i == c.size()) {
      out += c.is_array() ? ']' : '}';
      open.pop_back();
      continue;
    }
    if (i > 0) out += ", ";
    const value* item = nullptr;
    if (c.is_array()) {
      item = &c.as_array()[i];
    } else {
      const auto& [k, v] = c.as_map()[i];
      append_or_open(out, k);
      out += ": ";
      item = &v;
    }
    if (append_or_open(out, *item)) open.push_back({item, 0});
  }
}

} // namespace

value::~value() {
  if (!is_container(*this)) return;
  // Moves the containers nested in `v` (not its scalars) to `out`.
  auto detach_nested = [](value& v, array_type& out) {
    if (auto* items = std::get_if<array_type>(&v.data_)) {
      for (auto& x : *items)
        if (is_container(x)) out.push_back(std::move(x));
    } else if (auto* entries = std::get_if<map_type>(&v.data_)) {
      for (auto& entry : *entries)
        if (is_container(entry.second)) out.push_back(std::move(entry.second));
    }
  };
  try {
    array_type pending;
    detach_nested(*this, pending);
    while (!pending.empty()) {
      value last = std::move(pending.back());
      pending.pop_back();
      detach_nested(last, pending);
    }
  } catch (const std::bad_alloc&) {
    // No room for the worklist: what is left is destroyed by recursion.
  }
}

value value::array(array_type elements) {
  value result;
  result.data_ = std::move(elements);
  return result;
}

value value::map(map_type entries) {
  for (auto& entry : entries)
    entry.first = normalized_key(std::move(entry.first));
  std::erase_if(entries,
                [](const auto& entry) { return entry.second.is_nil(); });
  std::stable_sort(entries.begin(), entries.end(), entry_less);
  auto dup = std::adjacent_find(entries.begin(), entries.end(),
                                [](const auto& x, const auto& y) {
                                  return !key_less(x.first, y.first);
                                });
  if (dup != entries.end())
    throw type_error{"troupe::value::map: key " + to_string(dup->first)
                     + " is given twice"};
  value result;
  result.data_ = std::move(entries);
  return result;
}

bool value::as_bool() const {
  if (auto* b = std::get_if<bool>(&data_)) return *b;
  wrong_kind("as_bool", type());
}

std::int64_t value::as_int() const {
  if (auto* i = std::get_if<std::int64_t>(&data_)) return *i;
  wrong_kind("as_int", type());
}

double value::as_double() const {
  if (auto* d = std::get_if<double>(&data_)) return *d;
  if (auto* i = std::get_if<std::int64_t>(&data_))
    return static_cast<double>(*i);
  wrong_kind("as_double", type());
}

const std::string& value::as_string() const {
  if (auto* s = std::get_if<std::string>(&data_)) return *s;
  wrong_kind("as_string", type());
}

const value::array_type& value::as_array() const {
  if (auto* a = std::get_if<array_type>(&data_)) return *a;
  wrong_kind("as_array", type());
}

value::array_type& value::as_array() {
  if (auto* a = std::get_if<array_type>(&data_)) return *a;
  wrong_kind("as_array", type());
}

const value::map_type& value::as_map() const {
  if (auto* m = std::get_if<map_type>(&data_)) return *m;
  wrong_kind("as_map", type());
}

const value& value::operator[](const value& key) const {
  static const value nil;
  const auto& entries = as_map();
  std::pair<value, value> probe{normalized_key(key), value{}};
  auto i = std::lower_bound(entries.begin(), entries.end(), probe, entry_less);
  if (i != entries.end() && !key_less(probe.first, i->first)) return i->second;
  return nil;
}

void value::set(value key, value v) {
  auto* entries = std::get_if<map_type>(&data_);
  if (entries == nullptr) wrong_kind("set", type());
  std::pair<value, value> entry{normalized_key(std::move(key)), std::move(v)};
  auto i = std::lower_bound(entries->begin(), entries->end(), entry,
                            entry_less);
  bool found = i != entries->end() && !key_less(entry.first, i->first);
  if (entry.second.is_nil()) {
    if (found) entries->erase(i);
  } else if (found) {
    i->second = std::move(entry.second);
  } else {
    entries->insert(i, std::move(entry));
  }
}

std::size_t value::size() const noexcept {
  switch (type()) {
    case kind::string: return std::get<std::string>(data_).size();
    case kind::array: return std::get<array_type>(data_).size();
    case kind::map: return std::get<map_type>(data_).size();
    default: return 0;
  }
}

value::value(const worker& w) : data_(std::make_shared<const worker>(w)) {}

const worker& value::as_worker() const {
  const auto* w = std::get_if<std::shared_ptr<const worker>>(&data_);
  if (w == nullptr) wrong_kind("as_worker", type());
  return **w;
}

void value::throw_int_overflow(std::uint64_t i) {
  throw error{"troupe::value: integer " + std::to_string(i)
              + " does not fit in int64"};
}

bool operator==(const value& x, const value& y) {
  // Pairs still to compare, so that any depth compares without recursion.
  std::vector<std::pair<const value*, const value*>> pending{{&x, &y}};
  while (!pending.empty()) {
    auto [a, b] = pending.back();
    pending.pop_back();
    if (a->type() != b->type()) return false;
    if (a->is_array()) {
      const auto& xs = a->as_array();
      const auto& ys = b->as_array();
      if (xs.size() != ys.size()) return false;
      for (std::size_t i = 0; i < xs.size(); ++i)
        pending.emplace_back(&xs[i], &ys[i]);
    } else if (a->is_map()) {
      const auto& xs = a->as_map();
      const auto& ys = b->as_map();
      if (xs.size() != ys.size()) return false;
      for (std::size_t i = 0; i < xs.size(); ++i) {
        if (!(xs[i].first.data_ == ys[i].first.data_)) return false;
        pending.emplace_back(&xs[i].second, &ys[i].second);
      }
    } else if (a->is_handle()) {
      if (!(a->as_worker() == b->as_worker())) return false;
    } else if (!(a->data_ == b->data_)) {
      return false;
    }
  }
  return true;
}

std::string to_string(const value& v) {
  std::string out;
  append(out, v);
  return out;
}

const char* to_string(value::kind k) noexcept {
  static constexpr const char* names[] = {"nil",   "boolean", "integer",
                                          "float", "string",  "array",
                                          "map",   "handle"};
  return names[static_cast<int>(k)];
}

std::ostream& operator<<(std::ostream& out, const value& v) {
  return out << to_string(v);
}

} // namespace troupe
