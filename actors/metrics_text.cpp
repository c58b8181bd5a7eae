// troupe::prometheus_text: runtime_metrics in Prometheus' text exposition
// format 0.0.4, the one node_exporter's textfile collector reads: per metric a
// `# HELP` and a `# TYPE` line, then its samples; label values escaped as the
// format says (backslash, double quote, newline).
#include <charconv>

#include "troupe/metrics.hpp"

namespace troupe {

namespace {

void append_number(std::string& out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void header(std::string& out, const char* name, const char* type,
            const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template<class Number>
void sample(std::string& out, const char* name, std::string_view labels,
            Number v) {
  out += name;
  out += labels;
  out += ' ';
  append_number(out, v);
  out += '\n';
}

template<class Number>
void single(std::string& out, const char* name, const char* type,
            const char* help, Number v) {
  header(out, name, type, help);
  sample(out, name, {}, v);
}

std::string worker_labels(const worker_metrics& w) {
  std::string l = "{worker=\"";
  append_number(l, w.worker.id());
  l += "\",script=\"";
  append_label_value(l, w.script);
  l += '"';
  if (!w.names.empty()) {
    l += ",name=\"";
    append_label_value(l, w.names.front());
    l += '"';
  }
  l += '}';
  return l;
}

std::string dict_labels(const dict_metrics& d) {
  std::string l = "{dict=\"";
  append_label_value(l, d.name);
  l += "\"}";
  return l;
}

// One metric with a sample per element of `items`, `read` giving its value.
template<class Items, class Read>
void series(std::string& out, const char* name, const char* type,
            const char* help, const Items& items,
            const std::vector<std::string>& labels, Read&& read) {
  if (items.empty()) return;
  header(out, name, type, help);
  for (std::size_t i = 0; i < items.size(); ++i)
    sample(out, name, labels[i], read(items[i]));
}

void worker_series(std::string& out, const runtime_metrics& m) {
  std::vector<std::string> labels;
  labels.reserve(m.workers.size());
  for (const auto& w : m.workers) labels.push_back(worker_labels(w));
  using w_t = worker_metrics;
  auto u = [](auto v) { return static_cast<std::uint64_t>(v); };
  const auto& ws = m.workers;
  series(out, "troupe_worker_inbox_messages", "gauge",
         "Messages in the worker's inbox not taken yet.", ws, labels,
         [&](const w_t& w) { return u(w.inbox); });
  series(out, "troupe_worker_messages_in_total", "counter",
         "Messages the worker has taken in.", ws, labels,
         [&](const w_t& w) { return u(w.messages_in); });
  series(out, "troupe_worker_messages_out_total", "counter",
         "Messages the worker has sent.", ws, labels,
         [&](const w_t& w) { return u(w.messages_out); });
  series(out, "troupe_worker_bytes_out_total", "counter",
         "Bytes of the messages the worker has sent.", ws, labels,
         [&](const w_t& w) { return u(w.bytes_out); });
  series(out, "troupe_worker_cpu_seconds_total", "counter",
         "Seconds the worker has run on a scheduler thread.", ws, labels,
         [](const w_t& w) { return w.cpu_seconds; });
  series(out, "troupe_worker_memory_bytes", "gauge",
         "Bytes the worker's Lua state holds.", ws, labels,
         [&](const w_t& w) { return u(w.memory); });
  series(out, "troupe_worker_waiting", "gauge",
         "1 while the worker waits for a message, reply or timer.", ws, labels,
         [&](const w_t& w) { return u(w.status == "waiting"); });
}

void dict_series(std::string& out, const runtime_metrics& m) {
  std::vector<std::string> labels;
  for (const auto& d : m.dicts) labels.push_back(dict_labels(d));
  using d_t = dict_metrics;
  auto u = [](auto v) { return static_cast<std::uint64_t>(v); };
  const auto& ds = m.dicts;
  series(out, "troupe_shared_dict_hits_total", "counter",
         "Gets that found a value.", ds, labels,
         [&](const d_t& d) { return u(d.hits); });
  series(out, "troupe_shared_dict_misses_total", "counter",
         "Gets that found none.", ds, labels,
         [&](const d_t& d) { return u(d.misses); });
  series(out, "troupe_shared_dict_used_bytes", "gauge",
         "Bytes the dict's entries take.", ds, labels,
         [&](const d_t& d) { return u(d.used); });
  series(out, "troupe_shared_dict_capacity_bytes", "gauge",
         "The dict's capacity in bytes.", ds, labels,
         [&](const d_t& d) { return u(d.capacity); });
  series(out, "troupe_shared_dict_entries", "gauge", "Entries in the dict.", ds,
         labels, [&](const d_t& d) { return u(d.entries); });
}

} // namespace

std::string prometheus_text(const runtime_metrics& m) {
  std::string out;
  auto u = [](auto v) { return static_cast<std::uint64_t>(v); };
  single(out, "troupe_workers_alive", "gauge", "Workers running now.",
         u(m.alive));
  single(out, "troupe_workers_spawned_total", "counter",
         "Workers started since the runtime began.", u(m.spawned));
  single(out, "troupe_workers_failed_total", "counter",
         "Workers that ended with an error.", u(m.failed));
  single(out, "troupe_messages_total", "counter",
         "Messages sent by scripts and the host.", u(m.messages));
  single(out, "troupe_message_bytes_total", "counter",
         "Bytes of the messages sent.", u(m.bytes));
  single(out, "troupe_timers_pending", "gauge",
         "Message timers waiting to fire.", u(m.timers));
  single(out, "troupe_shared_dict_hits_all_total", "counter",
         "Gets of every shared dict that found a value.", u(m.dict_hits));
  single(out, "troupe_shared_dict_misses_all_total", "counter",
         "Gets of every shared dict that found none.", u(m.dict_misses));
  dict_series(out, m);
  worker_series(out, m);
  return out;
}

} // namespace troupe
