// Minimal protobuf wire-format reader and writer (proto2/proto3 compatible).
//
// libp2p's messages (keys, Noise payload, identify, and later kademlia, gossipsub,
// relay) are small and few; encoding them by field number keeps the decoders
// auditable, allocation-light and fuzzable, and keeps protoc out of the build.
// Unknown fields are skipped, as protobuf requires.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <cstdint>
#include <string_view>

namespace p2p::protobuf {

enum class wire_type : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

class writer {
 public:
  void add_varint(std::uint32_t field, std::uint64_t value);
  void add_bool(std::uint32_t field, bool value) { add_varint(field, value ? 1 : 0); }
  void add_bytes(std::uint32_t field, bytes_view value);
  void add_string(std::uint32_t field, std::string_view value) { add_bytes(field, as_bytes(value)); }
  void add_fixed64(std::uint32_t field, std::uint64_t value);
  void add_fixed32(std::uint32_t field, std::uint32_t value);

  const bytes& data() const& noexcept { return out_; }
  bytes take() && noexcept { return std::move(out_); }

 private:
  void add_tag(std::uint32_t field, wire_type type);
  bytes out_;
};

struct field {
  std::uint32_t number = 0;
  wire_type type = wire_type::varint;
  std::uint64_t integer = 0;  // varint, fixed64 and fixed32 values
  bytes_view data;            // length-delimited payload (points into the input)

  std::string_view text() const noexcept { return as_string(data); }
};

// Iterates the fields of one message. Usage:
//   protobuf::reader r(input);
//   while (!r.at_end()) { auto f = r.next(); if (!f) return f.error(); ... }
// next() returns the next field, or truncated/malformed for broken input.
class reader {
 public:
  explicit reader(bytes_view input) noexcept : input_(input) {}

  bool at_end() const noexcept { return input_.empty(); }
  result<field> next() noexcept;

 private:
  bytes_view input_;
};

}  // namespace p2p::protobuf
