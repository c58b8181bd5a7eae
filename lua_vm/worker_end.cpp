// A worker's end as the host reads it (see worker_end.hpp).
#include "lua_vm/worker_end.hpp"

#include "lua_vm/error_value.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::lua_vm {

namespace {

std::string bounded(const std::string& text) {
  return bounded_error_text(text.data(), text.size());
}

script_error to_script_error(const value& v) {
  std::string message = v.is_map() && v["message"].is_string()
                          ? v["message"].as_string()
                          : to_string(v);
  std::string traceback = v.is_map() && v["traceback"].is_string()
                            ? v["traceback"].as_string()
                            : "";
  return script_error{std::move(message), std::move(traceback),
                      v.is_map() ? v["value"] : value{}};
}

} // namespace

std::string encode_end_error(const end_error& e) {
  auto v = value::map(
    {{"message", bounded(e.message)}, {"traceback", bounded(e.traceback)}});
  if (const char* kind = kind_name(e.kind)) v.set("kind", kind);
  if (!e.value.empty()) {
    try {
      v.set("value", serialization::decode_value(e.value));
    } catch (const codec_error&) {
      // Not one value troupe can read back: the end goes without it.
    }
  }
  serialization::byte_sink sink;
  serialization::encode(v, sink);
  return std::string{sink.view()};
}

script_error end_script_error(const std::string& bytes) {
  return to_script_error(serialization::decode_value(bytes));
}

std::exception_ptr end_exception(const std::string& bytes) {
  value v = serialization::decode_value(bytes);
  const value& kind = v.is_map() ? v["kind"] : v;
  const value& message = v.is_map() ? v["message"] : v;
  std::string text = message.is_string() ? message.as_string() : to_string(v);
  failure f = failure_named(kind);
  if (f != failure::error) return failure_exception(f, std::move(text));
  return std::make_exception_ptr(to_script_error(v));
}

value end_result(const std::string& bytes,
                 const serialization::value_handles* handles) {
  value all = serialization::decode_value(bytes, {}, handles);
  auto& items = all.as_array();
  if (items.empty()) return {};
  if (items.size() == 1) return std::move(items.front());
  return all;
}

} // namespace troupe::lua_vm
