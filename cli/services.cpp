// `--shared` and `--metrics-file` (see services.hpp).
#include "services.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace troupe_cli {

std::optional<std::pair<std::string, std::size_t>>
parse_dict(const std::string& text, std::string& error) {
  auto eq = text.find('=');
  error = "'" + text + "' is not NAME=SIZE (a size such as 4096, 512k or 1m)";
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return std::nullopt;
  const char* first = text.data() + eq + 1;
  const char* last = text.data() + text.size();
  std::size_t size = 0;
  auto [end, ec] = std::from_chars(first, last, size);
  if (ec != std::errc{} || end == first) return std::nullopt;
  std::size_t scale = 1;
  if (end != last) {
    switch (*end) {
      case 'k':
      case 'K': scale = std::size_t{1} << 10; break;
      case 'm':
      case 'M': scale = std::size_t{1} << 20; break;
      case 'g':
      case 'G': scale = std::size_t{1} << 30; break;
      default: return std::nullopt;
    }
    if (end + 1 != last) return std::nullopt;
  }
  if (size == 0) {
    error = "'" + text + "': a shared dict needs at least one byte";
    return std::nullopt;
  }
  if (size > SIZE_MAX / scale) {
    error = "'" + text + "': the size is too large";
    return std::nullopt;
  }
  error.clear();
  return std::pair{text.substr(0, eq), size * scale};
}

metrics_file::metrics_file(std::string path) : path_(std::move(path)) {
  if (auto why = write(""); !why.empty())
    throw std::invalid_argument{"--metrics-file " + path_ + ": " + why};
}

metrics_file::~metrics_file() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard held{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void metrics_file::start(const troupe::runtime& rt) {
  rt_ = &rt;
  writer_ = std::thread{[this] { run(); }};
}

std::string metrics_file::write(const std::string& text) const {
  std::string temporary = path_ + ".tmp";
  std::FILE* f = std::fopen(temporary.c_str(), "w");
  if (f == nullptr)
    return std::string{"cannot write "} + temporary + ": "
           + std::strerror(errno);
  bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  int saved = errno;
  if (std::fclose(f) != 0 && written) {
    written = false;
    saved = errno;
  }
  if (!written) {
    std::remove(temporary.c_str());
    return std::string{"cannot write "} + temporary + ": "
           + std::strerror(saved);
  }
  if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
    saved = errno;
    std::remove(temporary.c_str());
    return std::string{"cannot rename "} + temporary + " to " + path_ + ": "
           + std::strerror(saved);
  }
  return {};
}

void metrics_file::run() {
  bool reported = false;
  std::unique_lock held{mutex_};
  for (;;) {
    bool last = stopping_;
    held.unlock();
    std::string why;
    try {
      why = write(rt_->metrics_text());
    } catch (const std::exception& e) {
      why = e.what();
    }
    // Reported once: the directory may come back, and each second retries.
    if (!why.empty() && !reported) {
      std::fprintf(stderr, "troupe: --metrics-file: %s\n", why.c_str());
      reported = true;
    }
    held.lock();
    if (last) return;
    wake_.wait_for(held, std::chrono::seconds{1}, [this] { return stopping_; });
  }
}

} // namespace troupe_cli
