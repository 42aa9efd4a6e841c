#include "p2p/security/noise/noise.hpp"

#include "p2p/security/noise/handshake.hpp"
#include "p2p/security/noise/transport.hpp"

namespace p2p::noise {
namespace {

// Plaintext per raw write: four maximal frames (~256 KiB of ciphertext), large enough
// to amortise the raw stream's per-write cost, small enough to bound the send buffer.
constexpr std::size_t write_batch_plaintext = 4 * max_frame_plaintext;

class noise_connection final : public secured_connection {
 public:
  noise_connection(std::unique_ptr<stream> raw, peer_id local, handshake_result done)
      : raw_(std::move(raw)),
        local_(std::move(local)),
        remote_(std::move(done.remote_peer)),
        remote_key_(std::move(done.remote_public_key)),
        muxer_(std::move(done.muxer)),
        encoder_(std::move(done.sender)),
        decoder_(std::move(done.receiver)) {}

  const peer_id& local_peer() const noexcept override { return local_; }
  const peer_id& remote_peer() const noexcept override { return remote_; }
  const crypto::public_key& remote_public_key() const noexcept override { return remote_key_; }
  std::optional<std::string> early_muxer() const override { return muxer_; }

  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override {
    if (failure_) co_return failure_;
    if (buffer.empty()) co_return std::size_t{0};
    for (;;) {
      auto n = decoder_.read(buffer);
      if (!n) co_return fail(n.error());
      if (*n > 0) co_return *n;
      auto received = co_await raw_->read_some(decoder_.prepare());
      if (failure_) co_return failure_;  // failed by a write while we waited
      if (!received) {
        if (received.error() == errc::closed && decoder_.has_partial_frame()) co_return errc::truncated;
        co_return received.error();
      }
      decoder_.commit(*received);
    }
  }

  task<result<void>> write(bytes_view data) override {
    if (failure_) co_return failure_;
    while (!data.empty()) {
      const bytes_view chunk = data.first(std::min(data.size(), write_batch_plaintext));
      const std::size_t needed = sealed_size(chunk.size());
      if (send_buffer_.size() < needed) send_buffer_.resize(needed);
      auto sealed = encoder_.seal(chunk, send_buffer_);
      if (!sealed) co_return fail(sealed.error());
      if (auto w = co_await raw_->write(bytes_view(send_buffer_).first(*sealed)); !w) co_return w.error();
      if (failure_) co_return failure_;
      data = data.subspan(chunk.size());
    }
    co_return result<void>{};
  }

  // Seals every part into the send buffer before the first suspension (the contract
  // that lets yamux hand over stream payloads without copying them), then writes the
  // frames with one raw write.
  task<result<void>> write_gather(std::span<const bytes_view> parts) override {
    if (failure_) co_return failure_;
    std::size_t total = 0;
    for (const bytes_view part : parts) total += part.size();
    if (total == 0) co_return result<void>{};
    const std::size_t needed = sealed_size(total);
    if (send_buffer_.size() < needed) send_buffer_.resize(needed);
    auto sealed = encoder_.seal(parts, send_buffer_);
    if (!sealed) co_return fail(sealed.error());
    if (auto w = co_await raw_->write(bytes_view(send_buffer_).first(*sealed)); !w) co_return w.error();
    if (failure_) co_return failure_;
    co_return result<void>{};
  }

  task<result<void>> close_write() override {
    if (failure_) co_return failure_;
    co_return co_await raw_->close_write();
  }

  void reset() override { raw_->reset(); }

 private:
  // A decryption failure or nonce exhaustion ends the connection for both directions:
  // the peer learns it through the reset.
  error_code fail(error_code ec) {
    if (!failure_) {
      failure_ = ec;
      raw_->reset();
    }
    return failure_;
  }

  std::unique_ptr<stream> raw_;
  peer_id local_;
  peer_id remote_;
  crypto::public_key remote_key_;
  std::optional<std::string> muxer_;
  frame_encoder encoder_;
  frame_decoder decoder_;
  bytes send_buffer_;
  error_code failure_;
};

task<result<void>> write_message(stream& raw, const bytes& message) {
  bytes framed;
  framed.reserve(length_prefix_size + message.size());
  framed.push_back(static_cast<std::uint8_t>(message.size() >> 8));
  framed.push_back(static_cast<std::uint8_t>(message.size()));
  append(framed, message);
  co_return co_await raw.write(framed);
}

// Reads exactly one length-prefixed handshake message, never more, so transport bytes
// that follow stay in the raw stream for the frame decoder.
task<result<bytes>> read_message(stream& raw) {
  std::uint8_t prefix[length_prefix_size];
  if (auto r = co_await read_exact(raw, prefix); !r) co_return r.error();
  bytes message(std::size_t{prefix[0]} << 8 | prefix[1]);
  if (auto r = co_await read_exact(raw, message); !r) co_return r.error();
  co_return message;
}

task<result<std::unique_ptr<secured_connection>>> run(std::unique_ptr<stream> raw, peer_id local,
                                                      result<handshake> created) {
  if (!created) {
    raw->reset();
    co_return created.error();
  }
  handshake& hs = *created;
  auto failed = [&](error_code ec) -> result<std::unique_ptr<secured_connection>> {
    raw->reset();
    return ec;
  };
  for (;;) {
    while (auto message = hs.poll_message()) {
      if (auto w = co_await write_message(*raw, *message); !w) co_return failed(w.error());
    }
    if (hs.is_complete()) break;
    auto message = co_await read_message(*raw);
    if (!message) co_return failed(message.error());
    if (auto r = hs.handle_message(*message); !r) co_return failed(r.error());
  }
  co_return std::make_unique<noise_connection>(std::move(raw), std::move(local), hs.take_result());
}

}  // namespace

task<result<std::unique_ptr<secured_connection>>> secure_outbound(std::unique_ptr<stream> raw,
                                                                  const crypto::private_key& identity,
                                                                  std::optional<peer_id> expected_remote,
                                                                  std::vector<std::string> muxers, random& rng) {
  auto created = handshake::initiator(identity, std::move(expected_remote), std::move(muxers), rng);
  // Everything taken from `identity` and `rng` is used before the first suspension.
  // Arguments are named values: g++ 12 may destroy class prvalues passed to a
  // coroutine inside a co_await expression twice.
  peer_id local = peer_id::from_public_key(identity.public_key());
  co_return co_await run(std::move(raw), std::move(local), std::move(created));
}

task<result<std::unique_ptr<secured_connection>>> secure_inbound(std::unique_ptr<stream> raw,
                                                                 const crypto::private_key& identity,
                                                                 std::vector<std::string> muxers, random& rng) {
  auto created = handshake::responder(identity, std::move(muxers), rng);
  // Everything taken from `identity` and `rng` is used before the first suspension.
  // Arguments are named values: g++ 12 may destroy class prvalues passed to a
  // coroutine inside a co_await expression twice.
  peer_id local = peer_id::from_public_key(identity.public_key());
  co_return co_await run(std::move(raw), std::move(local), std::move(created));
}

}  // namespace p2p::noise
