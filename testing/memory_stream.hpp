// In-memory connected stream pairs for tier-2 tests: two p2p::stream ends joined by
// bounded byte pipes. Options force short reads (down to 1 byte), small buffers
// (backpressure) and failures, so protocol shells meet every partial-I/O path.
#pragma once

#include "p2p/core/stream.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <utility>

namespace p2p::testing {

struct memory_stream_options {
  std::size_t max_read = 64 * 1024;  // largest chunk one read_some returns (1 = byte by byte)
  std::size_t capacity = 1 << 20;    // bytes buffered per direction before write() waits
};

class memory_stream final : public stream {
 public:
  struct shared_state;
  memory_stream(std::shared_ptr<shared_state> state, int side) : state_(std::move(state)), side_(side) {}
  ~memory_stream() override;

  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override;
  task<result<void>> write(bytes_view data) override;
  task<result<void>> close_write() override;
  void reset() override;

  // Makes the next read on the other end fail as if the connection broke.
  void break_connection();
  // Bytes written by this end so far (for tests that count overhead).
  std::size_t bytes_written() const;

 private:
  std::shared_ptr<shared_state> state_;
  int side_;
};

std::pair<std::unique_ptr<memory_stream>, std::unique_ptr<memory_stream>> make_memory_stream_pair(
    boost::asio::any_io_executor executor, memory_stream_options options = {});

}  // namespace p2p::testing
