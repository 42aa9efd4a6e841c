// Precompiled once per build tree (GCC) and reused by every C++ target (cmake/p2p.cmake,
// p2p_use_pch): the standard, Asio-coroutine, JSON and fmt headers that most files include,
// parsed once instead of in each of ~170 files. Sources still include what they use: the
// fuzz build (clang) compiles every library without this header and catches what is missing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
