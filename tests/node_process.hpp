// A `troupe node` process a test starts itself (or another command of its own,
// a `troupe run`): on loopback, on a free port
// the node picks (--listen 127.0.0.1:0) and prints, ended by its own pid
// when the test is done. Every wait is bounded.
#pragma once

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace troupe::test {

/// One `troupe node` process (see the file comment).
class node_process {
public:
  /// Starts `troupe node --listen 127.0.0.1:PORT` (PORT 0: any free one)
  /// with `args` after it, and waits (up to 10 s) for the address it prints.
  explicit node_process(const std::vector<std::string>& args,
                        unsigned port = 0) {
    std::vector<std::string> words{TROUPE_CLI, "node", "--listen",
                                   "127.0.0.1:" + std::to_string(port)};
    words.insert(words.end(), args.begin(), args.end());
    start(words);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (address_.empty() && read_some(deadline)) {
      auto at = text_.find("listening on ");
      auto end = text_.find('\n', at);
      if (at != std::string::npos && end != std::string::npos)
        address_ = text_.substr(at + 13, end - at - 13);
    }
  }
  /// Tag of the constructor below.
  static constexpr struct as_command_t {
  } as_command{};
  /// Starts `words` (the program first) as they are, another command of the
  /// test's (a `troupe run`), waiting for nothing.
  node_process(const std::vector<std::string>& words, as_command_t) {
    start(words);
  }
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  ~node_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  /// "127.0.0.1:PORT", or empty when the node did not come up (then text()
  /// says why).
  const std::string& address() const noexcept {
    return address_;
  }
  /// Its port (0 when it did not come up).
  unsigned port() const {
    return address_.empty() ? 0
                            : static_cast<unsigned>(std::stoul(
                              address_.substr(address_.rfind(':') + 1)));
  }
  /// What it printed so far.
  const std::string& text() const noexcept {
    return text_;
  }

  /// Sends `sig` to it.
  void signal(int sig) const {
    ::kill(pid_, sig);
  }

  /// Waits (up to 10 s) for it to exit; its exit status, or -1 when it did
  /// not exit normally in time.
  int wait_exit() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        while (read_some(std::chrono::steady_clock::now())) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      read_some(std::chrono::steady_clock::now()
                + std::chrono::milliseconds{20});
    }
    return -1;
  }

private:
  // Forks and execs `words` with its stdout and stderr into out_.
  void start(std::vector<std::string> words) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error{"pipe failed"};
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(out[1], STDERR_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      for (auto& w : words) argv.push_back(w.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
  }

  // Reads what is there until `deadline`; false at the end of the output or
  // once the deadline has passed.
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0)
      return false;
    char buf[4096];
    auto n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return false;
    text_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string text_;
  std::string address_;
};

} // namespace troupe::test
