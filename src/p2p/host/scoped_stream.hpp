// A stream that carries its resource_manager accounting: the stream_scope is given
// back when the stream is destroyed, whoever owns it by then (a handler may hand
// its stream to a longer-lived session).
#pragma once

#include "p2p/core/stream.hpp"
#include "p2p/resource/resource_manager.hpp"

#include <memory>

namespace p2p {

class scoped_stream final : public stream {
 public:
  scoped_stream(std::unique_ptr<stream> inner, resource::stream_scope scope)
      : inner_(std::move(inner)), scope_(std::move(scope)) {}

  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override { return inner_->read_some(buffer); }
  task<result<void>> write(bytes_view data) override { return inner_->write(data); }
  task<result<void>> write_gather(std::span<const bytes_view> parts) override { return inner_->write_gather(parts); }
  task<result<void>> close_write() override { return inner_->close_write(); }
  void reset() override { inner_->reset(); }

  // For buffers of this stream that a peer can make grow (reserve before growing).
  resource::stream_scope& scope() noexcept { return scope_; }

 private:
  std::unique_ptr<stream> inner_;
  resource::stream_scope scope_;
};

}  // namespace p2p
