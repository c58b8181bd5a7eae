// troupe::value <-> msgpack, the same bytes the Lua codec reads and writes, so
// a C++ host and a script exchange values without either knowing the other's
// representation.
#pragma once

#include <string_view>

#include "serialization/byte_sink.hpp"
#include "serialization/limits.hpp"
#include "serialization/value_handles.hpp"
#include "troupe/value.hpp"

namespace troupe::serialization {

/// Encodes `v` into `out` (emptied first); throws troupe::codec_error past a
/// limit, and for a handle unless it is of the runtime `handles` names.
void encode(const value& v, byte_sink& out, const limits& lim = {},
            const value_handles* handles = nullptr);

/// Encodes `values` as one msgpack array, the shape lua decode_values reads as
/// a list of values.
void encode_values(const value::array_type& values, byte_sink& out,
                   const limits& lim = {},
                   const value_handles* handles = nullptr);

/// Decodes one value; throws troupe::codec_error ("malformed message at byte N:
/// ...") for bad bytes, and for a handle unless `handles` accepts it.
value decode_value(std::string_view bytes, const limits& lim = {},
                   const value_handles* handles = nullptr);

} // namespace troupe::serialization
