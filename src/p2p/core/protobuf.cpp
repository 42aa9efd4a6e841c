#include "p2p/core/protobuf.hpp"

#include "p2p/core/varint.hpp"

namespace p2p::protobuf {

void writer::add_tag(std::uint32_t field, wire_type type) {
  varint::encode((static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint8_t>(type), out_);
}

void writer::add_varint(std::uint32_t field, std::uint64_t value) {
  add_tag(field, wire_type::varint);
  // protobuf varints may use all 64 bits (10 bytes), unlike multiformats varints.
  while (value >= 0x80) {
    out_.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<std::uint8_t>(value));
}

void writer::add_bytes(std::uint32_t field, bytes_view value) {
  add_tag(field, wire_type::length_delimited);
  varint::encode(value.size(), out_);
  append(out_, value);
}

void writer::add_fixed64(std::uint32_t field, std::uint64_t value) {
  add_tag(field, wire_type::fixed64);
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void writer::add_fixed32(std::uint32_t field, std::uint32_t value) {
  add_tag(field, wire_type::fixed32);
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

namespace {

// protobuf varint: up to 10 bytes, no minimality requirement.
result<std::uint64_t> read_varint(bytes_view& input) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < input.size() && i < 10; ++i) {
    const std::uint8_t byte = input[i];
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      input = input.subspan(i + 1);
      return value;
    }
  }
  return input.size() >= 10 ? errc::malformed : errc::truncated;
}

result<std::uint64_t> read_fixed(bytes_view& input, std::size_t width) noexcept {
  if (input.size() < width) return errc::truncated;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) value |= static_cast<std::uint64_t>(input[i]) << (8 * i);
  input = input.subspan(width);
  return value;
}

}  // namespace

result<field> reader::next() noexcept {
  auto tag = read_varint(input_);
  if (!tag) return tag.error();
  field f;
  const std::uint64_t number = *tag >> 3;
  if (number == 0 || number > 0x1fffffff) return errc::malformed;
  f.number = static_cast<std::uint32_t>(number);
  switch (*tag & 7) {
    case 0: {
      f.type = wire_type::varint;
      auto v = read_varint(input_);
      if (!v) return v.error();
      f.integer = *v;
      return f;
    }
    case 1: {
      f.type = wire_type::fixed64;
      auto v = read_fixed(input_, 8);
      if (!v) return v.error();
      f.integer = *v;
      return f;
    }
    case 2: {
      f.type = wire_type::length_delimited;
      auto length = read_varint(input_);
      if (!length) return length.error();
      if (*length > input_.size()) return errc::truncated;
      f.data = input_.first(static_cast<std::size_t>(*length));
      input_ = input_.subspan(static_cast<std::size_t>(*length));
      return f;
    }
    case 5: {
      f.type = wire_type::fixed32;
      auto v = read_fixed(input_, 4);
      if (!v) return v.error();
      f.integer = *v;
      return f;
    }
    default:
      return errc::malformed;  // groups (3, 4) are deprecated and unused by libp2p
  }
}

}  // namespace p2p::protobuf
