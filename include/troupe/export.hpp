// Symbol visibility for libtroupe: everything is hidden except what this macro
// marks.
#pragma once

#define TROUPE_API __attribute__((visibility("default")))
