// The exceptions of troupe's C++ API. Inside actors the same failures travel as
// values; at the API boundary they become one of these, each with a what() that
// says what failed and where.
#pragma once

#include <stdexcept>
#include <string>

#include "troupe/export.hpp"
#include "troupe/value.hpp"

namespace troupe {

/// Base of every exception troupe throws.
class TROUPE_API error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
  ~error() override;
};

/// A value was used as a type it does not hold (e.g. `as_int()` on a string).
class TROUPE_API type_error : public error {
public:
  using error::error;
  ~type_error() override;
};

/// Bytes that are not a valid troupe message, or a value that cannot be
/// encoded.
class TROUPE_API codec_error : public error {
public:
  using error::error;
  ~codec_error() override;
};

/// Lua source that does not compile; what() is `chunk:line: message`.
class TROUPE_API compile_error : public error {
public:
  using error::error;
  ~compile_error() override;
};

/// A script raised an error. what() and message() give the error, traceback()
/// where it was raised, value() the error value itself.
class TROUPE_API script_error : public error {
public:
  /// Builds the error from the script's message, its traceback (may be empty)
  /// and the value it raised (nil when it could not be sent).
  script_error(std::string message, std::string traceback,
               troupe::value raised = {});
  ~script_error() override;

  /// The error message as the script raised it (non-string errors are
  /// described).
  const std::string& message() const noexcept {
    return message_;
  }

  /// The Lua traceback at the point of the error, `stack traceback:` first.
  const std::string& traceback() const noexcept {
    return traceback_;
  }

  /// The error value as the script raised it (`error({code = 42})` gives that
  /// table as a map); nil when it could not be sent.
  const troupe::value& value() const noexcept {
    return value_;
  }

private:
  std::string message_;
  std::string traceback_;
  troupe::value value_;
};

/// A deadline passed before the work finished.
class TROUPE_API timeout_error : public error {
public:
  using error::error;
  ~timeout_error() override;
};

/// The work was cancelled (a stop request or a cancel).
class TROUPE_API cancelled_error : public error {
public:
  using error::error;
  ~cancelled_error() override;
};

/// The runtime, pool or supervisor behind a handle has stopped.
class TROUPE_API stopped_error : public error {
public:
  using error::error;
  ~stopped_error() override;
};

/// A script used something its permissions do not allow.
class TROUPE_API permission_error : public error {
public:
  using error::error;
  ~permission_error() override;
};

/// A remote worker's node died, hung or could not be reached: the worker is
/// lost.
class TROUPE_API lost_error : public error {
public:
  using error::error;
  ~lost_error() override;
};

/// A resource limit (memory, instructions, wall time, inbox, message size) was
/// exceeded.
class TROUPE_API limit_error : public error {
public:
  using error::error;
  ~limit_error() override;
};

} // namespace troupe
