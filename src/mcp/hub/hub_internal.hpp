// Shared by the hub's source files, not part of the module's interface:
//   hub.cpp         upstreams, the readers of their messages, the gateway's tool index;
//   session.cpp     one client session: requests in, forwarding, cancellation, relay;
//   routing.cpp     messages a server sends on its own, and the client's answers to them;
//   lists.cpp       the gateway's aggregated lists and logging/setLevel;
//   addressing.cpp  the gateway's names and URIs on the way in and out;
//   leases.cpp      each client session's own upstreams from the entries' sources.
#pragma once

#include "mcp/hub/hub.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/signal.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <utility>
#include <optional>
#include <string>
#include <string_view>

namespace mcp::hub {

namespace detail {

inline constexpr std::string_view component = "mcp/hub";

inline std::string id_key(const json& id) { return id.dump(); }

inline json error_response(const json& id, const rpc_error& error) {
  return jsonrpc::make_error_response(id, error.code, error.message, error.data);
}

inline const json* string_member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &*it;
}

// Replaces every string in `value` (at any depth) that starts with `wrapped`
// ("p2pmcp://<prefix>/") by the rest of it: the original URI.
void unwrap_uris(json& value, std::string_view wrapped);

}  // namespace detail

// One request of a client, while the session serves it.

struct session::active_request {
  explicit active_request(boost::asio::any_io_executor executor) : cancel(std::move(executor)) {}
  json id;
  std::string key;
  reply_sink* reply = nullptr;
  upstream* target = nullptr;
  std::optional<json> client_token;
  hub::progress_key progress_key;  // set with client_token: the token `target` sees
  bool cancelled = false;
  std::string cancel_reason;  // passed on to the server: the client's, or why the session ended
  bool finished = false;     // the upstream answered (or the request was cancelled)
  std::deque<json> related;  // progress and server requests for the reply stream
  p2p::signal cancel;        // wakes relay(): a related message, or cancellation
};

struct hub::lease_record {
  explicit lease_record(boost::asio::any_io_executor executor) : reader(executor), idle(executor) {}
  std::unique_ptr<server::upstream_lease> lease;
  upstream* up = nullptr;      // lease->get()
  upstream* shared = nullptr;  // the entry's upstream (the key of the entry)
  session* owner = nullptr;    // nullptr once retired
  std::string name;            // for logs: "<prefix> for <session label>"
  p2p::task_group reader;      // hub::pump(up)
  std::size_t in_flight = 0;   // calls into `up` that may still run (lease_use)
  p2p::signal idle;            // notified when in_flight drops to 0
  bool log_level_sent = false;  // the session's logging/setLevel reached it
  std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();
};

// Keeps a lease alive while one call into its upstream may run.
class lease_use {
 public:
  lease_use() = default;
  explicit lease_use(hub::lease_record* r) noexcept : record_(r) {
    if (record_) ++record_->in_flight;
  }
  lease_use(lease_use&& other) noexcept : record_(std::exchange(other.record_, nullptr)) {}
  lease_use& operator=(lease_use&& other) noexcept {
    if (this != &other) {
      release();
      record_ = std::exchange(other.record_, nullptr);
    }
    return *this;
  }
  ~lease_use() { release(); }
  hub::lease_record* get() const noexcept { return record_; }
  void release() noexcept {
    if (record_ && --record_->in_flight == 0) record_->idle.notify();
    record_ = nullptr;
  }

 private:
  hub::lease_record* record_ = nullptr;
};

struct session::target {
  upstream* up = nullptr;  // the session's own upstream, or the shared one
  lease_use use;           // set: `up` is leased
};

struct hub::recipient {
  session* owner = nullptr;
  session::active_request* via = nullptr;
  std::size_t candidates = 0;  // sessions it could be for
};

}  // namespace mcp::hub
