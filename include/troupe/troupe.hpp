// The one header a troupe user includes.
#pragma once

#include "troupe/bytecode.hpp"
#include "troupe/envelope.hpp"
#include "troupe/error.hpp"
#include "troupe/pool.hpp"
#include "troupe/runtime.hpp"
#include "troupe/shared_dict.hpp"
#include "troupe/supervisor.hpp"
#include "troupe/value.hpp"
#include "troupe/version.hpp"
#include "troupe/worker.hpp"
