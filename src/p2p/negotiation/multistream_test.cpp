#include "p2p/negotiation/multistream.hpp"

#include "p2p/negotiation/message.hpp"

#include "memory_stream.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <gtest/gtest.h>

namespace p2p::multistream {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using testing::make_memory_stream_pair;
using testing::memory_stream_options;
using testing::run;

// gtest's ASSERT_* return from the enclosing function, which a coroutine cannot do.
#define CO_ASSERT_TRUE(condition)                  \
  if (!(condition)) {                              \
    ADD_FAILURE() << "expected true: " #condition; \
    co_return;                                     \
  } else                                           \
    (void)0

bytes operator+(bytes a, const bytes& b) {
  append(a, b);
  return a;
}

bytes msg(std::string_view text) { return encode_message(text); }

// Byte-by-byte reads and a buffer that holds little more than one header.
constexpr memory_stream_options tight{.max_read = 1, .capacity = 24};

task<bytes> read_n(stream& s, std::size_t n) {
  bytes out(n);
  auto r = co_await read_exact(s, out);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  co_return out;
}

TEST(multistream_select, dialer_and_listener_agree) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    const std::vector<std::string> offered{"/yamux/1.0.0"};
    const std::vector<std::string> served{"/mplex/6.7.0", "/yamux/1.0.0"};
    result<std::string> dialed = errc::io_error, handled = errc::io_error;
    auto dial = [&]() -> task<void> { dialed = co_await select_one_of(*a, offered); };
    auto listen = [&]() -> task<void> { handled = co_await handle(*b, served); };
    co_await (dial() && listen());
    CO_ASSERT_TRUE(dialed);
    CO_ASSERT_TRUE(handled);
    EXPECT_EQ(*dialed, "/yamux/1.0.0");
    EXPECT_EQ(*handled, "/yamux/1.0.0");
    // Header + proposal in one flight, nothing else.
    EXPECT_EQ(a->bytes_written(), msg("/multistream/1.0.0").size() + msg("/yamux/1.0.0").size());
  });
}

TEST(multistream_select, falls_back_through_na) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    const std::vector<std::string> offered{"/d", "/e", "/c"};
    std::vector<std::string> asked;
    result<std::string> dialed = errc::io_error, handled = errc::io_error;
    auto dial = [&]() -> task<void> { dialed = co_await select_one_of(*a, offered); };
    auto listen = [&]() -> task<void> {
      handled = co_await handle(*b, [&](std::string_view id) {
        asked.emplace_back(id);
        return id == "/a" || id == "/b" || id == "/c";
      });
    };
    co_await (dial() && listen());
    CO_ASSERT_TRUE(dialed);
    CO_ASSERT_TRUE(handled);
    EXPECT_EQ(*dialed, "/c");
    EXPECT_EQ(*handled, "/c");
    EXPECT_EQ(asked, offered);
  });
}

TEST(multistream_select, no_common_protocol) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    const std::vector<std::string> offered{"/d", "/e"};
    const std::vector<std::string> served{"/a"};
    result<std::string> dialed = errc::io_error, handled = errc::io_error;
    auto dial = [&]() -> task<void> {
      dialed = co_await select_one_of(*a, offered);
      co_await a->close_write();  // giving up, as a real dialer would
    };
    auto listen = [&]() -> task<void> { handled = co_await handle(*b, served); };
    co_await (dial() && listen());
    EXPECT_EQ(dialed.error(), errc::protocol_not_supported);
    EXPECT_EQ(handled.error(), errc::closed);
  });
}

TEST(multistream_select, invalid_arguments) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex);
    auto none = co_await select_one_of(*a, {});
    EXPECT_EQ(none.error(), errc::invalid_argument);
    const std::vector<std::string> bad{"/a\n"};
    EXPECT_EQ((co_await select_one_of(*a, bad)).error(), errc::invalid_argument);
    EXPECT_EQ(a->bytes_written(), 0u);
  });
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex);
    EXPECT_THROW(select_lazy(std::move(a), "na"), std::invalid_argument);
    co_return;
  });
}

// Scripted listener speaking the spec's byte sequences; the dialer's output is checked
// byte for byte and the listener's trailing application data must reach the next reader.
TEST(multistream_select, dialer_against_scripted_listener) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex);  // large reads: the dialer must still stop exactly
    const std::vector<std::string> offered{"/ipfs/kad/1.0.0", "/ipfs/kad/0.2.3"};
    result<std::string> dialed = errc::io_error;
    auto dial = [&]() -> task<void> { dialed = co_await select_one_of(*a, offered); };
    auto script = [&]() -> task<void> {
      bytes first = co_await read_n(*b, 20 + 17);
      EXPECT_EQ(as_string(first), "\x13/multistream/1.0.0\n\x10/ipfs/kad/1.0.0\n");
      co_await b->write(to_bytes("\x13/multistream/1.0.0\n\x03na\n"));
      bytes second = co_await read_n(*b, 17);
      EXPECT_EQ(as_string(second), "\x10/ipfs/kad/0.2.3\n");
      co_await b->write(to_bytes("\x10/ipfs/kad/0.2.3\nkad traffic"));
      co_await b->close_write();
    };
    co_await (dial() && script());
    CO_ASSERT_TRUE(dialed);
    EXPECT_EQ(*dialed, "/ipfs/kad/0.2.3");
    auto rest = co_await read_to_end(*a, 1024);
    CO_ASSERT_TRUE(rest);
    EXPECT_EQ(as_string(*rest), "kad traffic");
  });
}

// Scripted dialer pipelining everything, like @libp2p/multistream-select's tests: header,
// refused proposals, "ls", the accepted one and application data in a single write.
TEST(multistream_select, listener_against_scripted_dialer) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex);
    const std::vector<std::string> served{"/echo/1.0.0"};
    bytes app = msg("payload") + bytes{0x00, 0xff, '\n', 0x80};
    co_await a->write(msg("/multistream/1.0.0") + msg("/not/supported/1.0.0") + msg("ls") + msg("/echo/1.0.0") +
                      app);
    co_await a->close_write();
    auto handled = co_await handle(*b, served);
    CO_ASSERT_TRUE(handled);
    EXPECT_EQ(*handled, "/echo/1.0.0");
    auto rest = co_await read_to_end(*b, 1024);
    CO_ASSERT_TRUE(rest);
    EXPECT_EQ(*rest, app);

    bytes list;
    encode_list(served, list);
    bytes expected = msg("/multistream/1.0.0") + msg("na") + list + msg("/echo/1.0.0");
    EXPECT_EQ(co_await read_n(*a, expected.size()), expected);
    EXPECT_EQ(b->bytes_written(), expected.size());
  });
}

TEST(multistream_select, listener_rejects_bad_input) {
  const std::vector<bytes> inputs{
      to_bytes("\x05hello"),                        // not the header, no newline
      msg("/multistream/1.0.0") + bytes{0x81, 0x08},  // oversized
      msg("/multistream/1.0.0") + to_bytes("\x04/abc"),  // missing newline
      msg("/multistream/2.0.0"),
  };
  for (const auto& input : inputs) {
    run([&](boost::asio::any_io_executor ex) -> task<void> {
      auto [a, b] = make_memory_stream_pair(ex, tight);
      auto send = [&]() -> task<void> {
        co_await a->write(input);
        co_await a->close_write();
      };
      result<std::string> handled = errc::io_error;
      auto listen = [&]() -> task<void> { handled = co_await handle(*b, [](std::string_view) { return true; }); };
      auto drain = [&]() -> task<void> { co_await read_to_end(*a, 4096); };
      co_await (send() && listen());
      EXPECT_EQ(handled.error(), errc::protocol_violation) << to_hex(input);
      b->reset();
      co_await drain();
    });
  }
}

TEST(multistream_select, truncated_negotiation_reports_the_stream_error) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex);
    co_await a->write(to_bytes("\x13/multistream/1.0"));
    co_await a->close_write();
    auto handled = co_await handle(*b, [](std::string_view) { return true; });
    EXPECT_EQ(handled.error(), errc::closed);
  });
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex);
    co_await b->write(msg("/multistream/1.0.0"));
    b->reset();
    const std::vector<std::string> offered{"/a"};
    auto dialed = co_await select_one_of(*a, offered);
    EXPECT_EQ(dialed.error(), errc::stream_reset);
  });
}

// After a negotiation with a fallback, both directions carry application data intact
// through byte-by-byte reads and a pipe smaller than the payload.
TEST(multistream_select, data_after_negotiation_is_intact) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    bytes ping(300);
    for (std::size_t i = 0; i < ping.size(); ++i) ping[i] = static_cast<std::uint8_t>(i * 31);
    const std::vector<std::string> offered{"/x", "/ping/1.0.0"};
    const std::vector<std::string> served{"/ping/1.0.0"};
    auto dial = [&]() -> task<void> {
      auto dialed = co_await select_one_of(*a, offered);
      EXPECT_TRUE(dialed);
      EXPECT_TRUE(co_await a->write(ping));
      EXPECT_TRUE(co_await a->close_write());
      auto echo = co_await read_to_end(*a, 4096);
      EXPECT_TRUE(echo && *echo == ping);
    };
    auto listen = [&]() -> task<void> {
      auto handled = co_await handle(*b, served);
      EXPECT_TRUE(handled);
      auto got = co_await read_to_end(*b, 4096);
      EXPECT_TRUE(got && *got == ping);
      if (got) {
        EXPECT_TRUE(co_await b->write(*got));
      }
      EXPECT_TRUE(co_await b->close_write());
    };
    co_await (dial() && listen());
  });
}

TEST(multistream_lazy, first_write_carries_the_handshake) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    auto* raw = a.get();
    auto lazy = select_lazy(std::move(a), "/echo/1.0.0");
    EXPECT_EQ(raw->bytes_written(), 0u);  // nothing sent until used
    const std::vector<std::string> served{"/echo/1.0.0"};
    auto dial = [&]() -> task<void> {
      EXPECT_TRUE(co_await lazy->write(to_bytes("hello")));
      EXPECT_EQ(raw->bytes_written(), msg("/multistream/1.0.0").size() + msg("/echo/1.0.0").size() + 5);
      EXPECT_TRUE(co_await lazy->close_write());
      auto answer = co_await read_to_end(*lazy, 1024);
      EXPECT_TRUE(answer);
      if (answer) {
        EXPECT_EQ(as_string(*answer), "hello back");
      }
    };
    auto listen = [&]() -> task<void> {
      auto handled = co_await handle(*b, served);
      EXPECT_TRUE(handled);
      auto got = co_await read_to_end(*b, 1024);
      EXPECT_TRUE(got);
      if (got) {
        EXPECT_EQ(as_string(*got), "hello");
      }
      EXPECT_TRUE(co_await b->write(to_bytes("hello back")));
      EXPECT_TRUE(co_await b->close_write());
    };
    co_await (dial() && listen());
  });
}

TEST(multistream_lazy, na_on_first_read) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    auto lazy = select_lazy(std::move(a), "/missing/1.0.0");
    result<std::string> handled = errc::io_error;
    auto dial = [&]() -> task<void> {
      EXPECT_TRUE(co_await lazy->write(to_bytes("\x06hello\n")));  // optimistic: goes out
      std::uint8_t buffer[16];
      auto n = co_await lazy->read_some(buffer);
      EXPECT_EQ(n.error(), errc::protocol_not_supported);
      EXPECT_EQ((co_await lazy->read_some(buffer)).error(), errc::protocol_not_supported);
      EXPECT_EQ((co_await lazy->write(to_bytes("more"))).error(), errc::protocol_not_supported);
      lazy->reset();
    };
    auto listen = [&]() -> task<void> {
      handled = co_await handle(*b, [](std::string_view) { return false; });
    };
    co_await (dial() && listen());
    // The listener took the optimistic data for another proposal and refused it too.
    EXPECT_EQ(handled.error(), errc::stream_reset);
  });
}

TEST(multistream_lazy, first_read_sends_the_handshake) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    auto lazy = select_lazy(std::move(a), "/greeting/1.0.0");
    const std::vector<std::string> served{"/greeting/1.0.0"};
    auto dial = [&]() -> task<void> {
      auto greeting = co_await read_to_end(*lazy, 1024);  // server speaks first
      EXPECT_TRUE(greeting);
      if (greeting) {
        EXPECT_EQ(as_string(*greeting), "welcome");
      }
    };
    auto listen = [&]() -> task<void> {
      EXPECT_TRUE(co_await handle(*b, served));
      EXPECT_TRUE(co_await b->write(to_bytes("welcome")));
      EXPECT_TRUE(co_await b->close_write());
    };
    co_await (dial() && listen());
  });
}

TEST(multistream_lazy, concurrent_first_read_and_write) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    auto lazy = select_lazy(std::move(a), "/chat/1.0.0");
    const std::vector<std::string> served{"/chat/1.0.0"};
    bytes big(200, 'q');  // larger than the pipe: the handshake write blocks
    // The read starts first and sends the handshake; the write must wait for it and
    // then follow it on the wire.
    auto reader = [&]() -> task<void> {
      auto got = co_await read_to_end(*lazy, 1024);
      EXPECT_TRUE(got);
      if (got) {
        EXPECT_EQ(as_string(*got), "hi");
      }
    };
    auto writer = [&]() -> task<void> {
      EXPECT_TRUE(co_await lazy->write(big));
      EXPECT_TRUE(co_await lazy->close_write());
    };
    auto listen = [&]() -> task<void> {
      EXPECT_TRUE(co_await handle(*b, served));
      EXPECT_TRUE(co_await b->write(to_bytes("hi")));
      EXPECT_TRUE(co_await b->close_write());
      auto got = co_await read_to_end(*b, 1024);
      EXPECT_TRUE(got && *got == big);
    };
    co_await (reader() && writer() && listen());
  });
}

TEST(multistream_lazy, close_write_first_still_proposes) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, tight);
    auto lazy = select_lazy(std::move(a), "/sink/1.0.0");
    const std::vector<std::string> served{"/sink/1.0.0"};
    auto dial = [&]() -> task<void> {
      EXPECT_TRUE(co_await lazy->close_write());
      auto rest = co_await read_to_end(*lazy, 1024);  // checks the echo, then EOF
      EXPECT_TRUE(rest && rest->empty());
    };
    auto listen = [&]() -> task<void> {
      auto handled = co_await handle(*b, served);
      EXPECT_TRUE(handled);
      auto rest = co_await read_to_end(*b, 1024);
      EXPECT_TRUE(rest && rest->empty());
      EXPECT_TRUE(co_await b->close_write());
    };
    co_await (dial() && listen());
  });
}

TEST(multistream_lazy, bad_answer_is_a_violation) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex);
    auto lazy = select_lazy(std::move(a), "/a");
    co_await b->write(msg("/multistream/1.0.0") + msg("/b"));
    std::uint8_t buffer[4];
    EXPECT_EQ((co_await lazy->read_some(buffer)).error(), errc::protocol_violation);
    EXPECT_EQ((co_await lazy->write(to_bytes("x"))).error(), errc::protocol_violation);
  });
}

}  // namespace
}  // namespace p2p::multistream
