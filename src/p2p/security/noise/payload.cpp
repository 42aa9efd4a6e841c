#include "p2p/security/noise/payload.hpp"

#include "p2p/core/protobuf.hpp"

namespace p2p::noise {
namespace {

namespace field_number {
constexpr std::uint32_t identity_key = 1;
constexpr std::uint32_t identity_sig = 2;
constexpr std::uint32_t extensions = 4;
constexpr std::uint32_t webtransport_certhashes = 1;
constexpr std::uint32_t stream_muxers = 2;
}  // namespace field_number

result<void> decode_extensions(bytes_view encoded, noise_extensions& out) {
  protobuf::reader reader(encoded);
  while (!reader.at_end()) {
    auto f = reader.next();
    if (!f) return f.error();
    if (f->number != field_number::webtransport_certhashes && f->number != field_number::stream_muxers)
      continue;
    if (f->type != protobuf::wire_type::length_delimited) return errc::malformed;
    if (f->number == field_number::webtransport_certhashes)
      out.webtransport_certhashes.emplace_back(f->data.begin(), f->data.end());
    else
      out.stream_muxers.emplace_back(f->text());
  }
  return {};
}

}  // namespace

bytes encode_payload(const handshake_payload& payload) {
  protobuf::writer writer;
  writer.add_bytes(field_number::identity_key, payload.identity_key);
  writer.add_bytes(field_number::identity_sig, payload.identity_sig);
  if (payload.extensions) {
    protobuf::writer extensions;
    for (const auto& hash : payload.extensions->webtransport_certhashes)
      extensions.add_bytes(field_number::webtransport_certhashes, hash);
    for (const auto& muxer : payload.extensions->stream_muxers)
      extensions.add_string(field_number::stream_muxers, muxer);
    writer.add_bytes(field_number::extensions, extensions.data());
  }
  return std::move(writer).take();
}

result<handshake_payload> decode_payload(bytes_view encoded) {
  handshake_payload payload;
  protobuf::reader reader(encoded);
  while (!reader.at_end()) {
    auto f = reader.next();
    if (!f) return f.error();
    switch (f->number) {
      case field_number::identity_key:
      case field_number::identity_sig:
      case field_number::extensions:
        if (f->type != protobuf::wire_type::length_delimited) return errc::malformed;
        break;
      default:
        continue;  // unknown fields (including the r0 libp2p_data = 3) are skipped
    }
    if (f->number == field_number::identity_key) {
      payload.identity_key.assign(f->data.begin(), f->data.end());
    } else if (f->number == field_number::identity_sig) {
      payload.identity_sig.assign(f->data.begin(), f->data.end());
    } else {
      if (!payload.extensions) payload.extensions.emplace();
      if (auto r = decode_extensions(f->data, *payload.extensions); !r) return r.error();
    }
  }
  return payload;
}

}  // namespace p2p::noise
