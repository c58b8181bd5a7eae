// troupe's version.
#pragma once

#include "troupe/export.hpp"

namespace troupe {

/// The library's version, "major.minor.patch".
TROUPE_API const char* version() noexcept;

} // namespace troupe
