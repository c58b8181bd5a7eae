// The delay before a restart, as troupe::restart_policy defines it: the
// first restart after a failure waits `min`, each further one in a row twice
// as long, up to `max`, varied at random by up to `jitter` of itself. The C++
// supervisor (actors/job_keeper) and the Lua one (supervisor.lua, through
// worker._backoff) both restart by it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace troupe::lua_vm {

/// The delay before the restart that follows `streak` failures in a row
/// (0: none); `spread` in [-1, 1] picks where in the jitter band it falls.
inline std::chrono::nanoseconds
backoff_delay(std::chrono::nanoseconds min, std::chrono::nanoseconds max,
              double jitter, std::size_t streak, double spread) noexcept {
  if (min.count() <= 0 || streak == 0) return {};
  double base = static_cast<double>(min.count())
                * std::pow(2.0, static_cast<double>(
                                  std::min<std::size_t>(streak - 1, 62)));
  base = std::min(base, static_cast<double>(max.count()));
  if (jitter > 0) base *= 1.0 + jitter * std::clamp(spread, -1.0, 1.0);
  return std::chrono::nanoseconds{
    static_cast<std::int64_t>(std::clamp(base, 0.0, 9.2e18))};
}

} // namespace troupe::lua_vm
