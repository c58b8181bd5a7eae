// troupe::version(), from the project version CMake passes in.
#include "troupe/version.hpp"

namespace troupe {

const char* version() noexcept {
  return TROUPE_VERSION;
}

} // namespace troupe
