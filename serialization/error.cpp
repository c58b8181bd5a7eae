// Out-of-line destructors anchor the error classes' vtables and type_info in
// libtroupe, so exceptions thrown inside the library are caught by type in the
// user's program.
#include "troupe/error.hpp"

namespace troupe {

error::~error() = default;
type_error::~type_error() = default;
codec_error::~codec_error() = default;
compile_error::~compile_error() = default;
timeout_error::~timeout_error() = default;
cancelled_error::~cancelled_error() = default;
stopped_error::~stopped_error() = default;
permission_error::~permission_error() = default;
limit_error::~limit_error() = default;
lost_error::~lost_error() = default;

script_error::script_error(std::string message, std::string traceback,
                           troupe::value raised)
    : error(message),
      message_(std::move(message)),
      traceback_(std::move(traceback)),
      value_(std::move(raised)) {}

script_error::~script_error() = default;

} // namespace troupe
