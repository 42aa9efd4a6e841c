#include "p2p/protocols/perf/perf.hpp"

#include <algorithm>

namespace p2p::perf {

namespace {

constexpr std::size_t header_size = 8;

error_code fail(stream& s, error_code ec) {
  s.reset();
  return ec;
}

void put_u64_be(std::uint64_t value, std::uint8_t* out) {
  for (std::size_t i = 0; i < header_size; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * (7 - i)));
}

std::uint64_t get_u64_be(const std::uint8_t* in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < header_size; ++i) value = value << 8 | in[i];
  return value;
}

// Rate-limits progress callbacks to one per interval of the injected clock.
class progress_reporter {
 public:
  progress_reporter(clock& now, const client_options& options)
      : now_(now), callback_(options.on_progress), interval_(options.progress_interval),
        last_(now.now()) {}

  void maybe_report(const stats& so_far) {
    if (!callback_) return;
    const time_point t = now_.now();
    if (t - last_ < interval_) return;
    last_ = t;
    callback_(so_far);
  }

 private:
  clock& now_;
  const progress_callback& callback_;
  duration interval_;
  time_point last_;
};

}  // namespace

task<result<stats>> run_client(stream& s, clock& now, client_options options) {
  stats measured;
  progress_reporter progress(now, options);
  bytes chunk(chunk_size, 0);

  // Upload. The header shares the first write with the first payload bytes, so a tiny
  // exchange costs one frame instead of two.
  const time_point upload_start = now.now();
  put_u64_be(options.download_bytes, chunk.data());
  std::size_t header = header_size;
  std::uint64_t remaining = options.upload_bytes;
  do {
    const std::size_t payload =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining, chunk_size - header));
    if (auto w = co_await s.write(bytes_view(chunk).first(header + payload)); !w) {
      co_return fail(s, w.error());
    }
    if (header != 0) {
      std::fill_n(chunk.begin(), header_size, 0);
      header = 0;
    }
    remaining -= payload;
    measured.upload_bytes += payload;
    measured.upload_time = now.now() - upload_start;
    progress.maybe_report(measured);
  } while (remaining > 0);
  if (auto c = co_await s.close_write(); !c) co_return fail(s, c.error());
  const time_point download_start = now.now();
  measured.upload_time = download_start - upload_start;

  // Download: exactly the requested amount, then EOF.
  for (;;) {
    auto n = co_await s.read_some(chunk);
    if (!n) {
      if (n.error() != errc::closed) co_return fail(s, n.error());
      break;
    }
    if (*n > options.download_bytes - measured.download_bytes) {
      co_return fail(s, errc::protocol_violation);
    }
    measured.download_bytes += *n;
    measured.download_time = now.now() - download_start;
    progress.maybe_report(measured);
  }
  measured.download_time = now.now() - download_start;
  if (measured.download_bytes != options.download_bytes) co_return fail(s, errc::truncated);
  co_return measured;
}

task<result<void>> serve(stream& s) {
  bytes chunk(chunk_size, 0);
  if (auto r = co_await read_exact(s, mutable_bytes_view(chunk).first(header_size)); !r) {
    co_return fail(s, r.error() == errc::closed ? error_code(errc::truncated) : r.error());
  }
  std::uint64_t requested = get_u64_be(chunk.data());

  // The spec forbids sending while the upload is still coming in.
  for (;;) {
    auto n = co_await s.read_some(chunk);
    if (n) continue;
    if (n.error() == errc::closed) break;
    co_return fail(s, n.error());
  }

  // Only `chunk` is ever sent, so memory use does not depend on `requested`.
  std::fill(chunk.begin(), chunk.end(), 0);
  while (requested > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(requested, chunk_size));
    if (auto w = co_await s.write(bytes_view(chunk).first(n)); !w) co_return fail(s, w.error());
    requested -= n;
  }
  if (auto c = co_await s.close_write(); !c) co_return fail(s, c.error());
  co_return result<void>{};
}

}  // namespace p2p::perf
