// "/echo/1.0.0" for tests and interop: echoes every byte, half-closes after the
// remote does. Also the client side: send a deterministic pattern while reading the
// echo concurrently, and check every byte.
#pragma once

#include "p2p/core/stream.hpp"

#include <string_view>

namespace p2p::testing {

inline constexpr std::string_view echo_protocol = "/echo/1.0.0";

// Serves one echo stream until the remote closes its write side.
task<void> serve_echo(std::unique_ptr<stream> s);

// Byte i of the pattern: (i * 31 + 7) & 255 — the same as the js interop peer's.
std::uint8_t echo_pattern(std::uint64_t index) noexcept;

// Writes `size` pattern bytes (then half-closes) while reading the echo back.
// Errors: the stream's errors, or protocol_violation if a byte differs or the echo is
// shorter or longer than what was sent.
task<result<void>> run_echo(stream& s, std::uint64_t size);

}  // namespace p2p::testing
