// The libp2p Noise handshake core fed arbitrary messages. Input: one mode byte, then
// messages each prefixed by a 2-byte big-endian length (the rest of the input when
// shorter). Modes:
//   0  messages go to a responder
//   1  messages go to an initiator after it produced message 1
//   2  an honest-looking scripted responder encrypts the first message as its payload
//      (reaches payload decoding, key parsing, signature checks on the initiator)
//   3  the same against a responder: a scripted initiator's message 3 payload
//   4  like 2, but the payload starts with a valid identity key and signature and the
//      first message is appended as further protobuf fields (reaches extensions,
//      muxer selection and completion)
// Must never crash; the core may only fail with an error.
#include "p2p/security/noise/handshake.hpp"

#include <cstdlib>
#include <vector>

namespace {

using namespace p2p;

const crypto::private_key& local_identity() {
  static const crypto::private_key key = *crypto::private_key::ed25519_from_seed(bytes(32, 7));
  return key;
}

std::vector<bytes_view> split(bytes_view input) {
  std::vector<bytes_view> out;
  while (!input.empty() && out.size() < 8) {
    if (input.size() < 2) {
      out.push_back(input);
      break;
    }
    const std::size_t length = std::min<std::size_t>(std::size_t{input[0]} << 8 | input[1], input.size() - 2);
    out.push_back(input.subspan(2, length));
    input = input.subspan(2 + length);
  }
  return out;
}

noise::xx_handshake_state scripted(noise::role r) {
  return noise::xx_handshake_state(r, {}, *noise::x25519_key_pair::from_secret(bytes(32, 0x31)),
                                   *noise::x25519_key_pair::from_secret(bytes(32, 0x32)));
}

void feed(noise::handshake& hs, const std::vector<bytes_view>& messages) {
  for (auto message : messages) {
    (void)hs.poll_message();
    auto r = hs.handle_message(message);
    if (!r && !hs.has_failed() && r.error() != errc::protocol_violation) std::abort();
    if (hs.is_complete()) {
      auto done = hs.take_result();
      (void)done;
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 5;
  const auto messages = split(bytes_view(data + 1, size - 1));
  seeded_random rng(size);
  const std::vector<std::string> muxers = {"/yamux/1.0.0"};

  if (mode == 0) {
    auto hs = noise::handshake::responder(local_identity(), muxers, rng);
    if (!hs) std::abort();
    feed(*hs, messages);
  } else if (mode == 1) {
    auto hs = noise::handshake::initiator(local_identity(), std::nullopt, muxers, rng);
    if (!hs) std::abort();
    if (!hs->poll_message()) std::abort();
    feed(*hs, messages);
  } else if (mode == 2) {
    if (messages.empty()) return 0;
    auto hs = noise::handshake::initiator(local_identity(), std::nullopt, muxers, rng);
    if (!hs) std::abort();
    auto fake = scripted(noise::role::responder);
    if (!fake.read_message(*hs->poll_message())) std::abort();
    bytes second;
    if (!fake.write_message(messages[0], second)) return 0;  // payload too large
    (void)hs->handle_message(second);
  } else if (mode == 4) {
    auto hs = noise::handshake::initiator(local_identity(), std::nullopt, muxers, rng);
    if (!hs) std::abort();
    auto fake = scripted(noise::role::responder);
    if (!fake.read_message(*hs->poll_message())) std::abort();
    static const crypto::private_key remote = *crypto::private_key::ed25519_from_seed(bytes(32, 9));
    bytes signed_data = to_bytes(noise::static_key_signature_prefix);
    append(signed_data, fake.local_static_public());
    bytes payload = noise::encode_payload({.identity_key = remote.public_key().to_protobuf(),
                                           .identity_sig = *remote.sign(signed_data),
                                           .extensions = {}});
    if (!messages.empty()) append(payload, messages[0]);
    bytes second;
    if (!fake.write_message(payload, second)) return 0;
    if (hs->handle_message(second)) {
      if (!hs->is_complete() || !hs->poll_message()) std::abort();
      auto done = hs->take_result();
      if (!(done.remote_public_key == remote.public_key())) std::abort();
    }
  } else {
    if (messages.empty()) return 0;
    auto hs = noise::handshake::responder(local_identity(), muxers, rng);
    if (!hs) std::abort();
    auto fake = scripted(noise::role::initiator);
    bytes first;
    if (!fake.write_message({}, first) || !hs->handle_message(first)) std::abort();
    if (!fake.read_message(*hs->poll_message())) std::abort();
    bytes third;
    if (!fake.write_message(messages[0], third)) return 0;
    (void)hs->handle_message(third);
  }
  return 0;
}
