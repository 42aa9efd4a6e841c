#include "mcp/server/rpc_upstream.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mcp::server {

namespace log = p2p::log;
namespace codes = jsonrpc::codes;

namespace {

time_point now() { return std::chrono::steady_clock::now(); }

long long to_ms(duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

std::string describe(duration d) {
  if (d == duration::max()) return "ever";
  return jsonrpc::describe_duration_ms(to_ms(d));
}

std::string describe_size(std::size_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// Call with a local copy of the state, never with `co_await ...` as the argument: g++ 12
// compiles `if (is_cancelled(co_await this_coro::cancellation_state))` into a trap (ud2).
bool is_cancelled(const asio::cancellation_state& state) { return state.cancelled() != asio::cancellation_type::none; }

}  // namespace

// ---------------------------------------------------------------------------------
// Small types and helpers

std::string_view to_string(server_state state) noexcept {
  switch (state) {
    case server_state::starting: return "starting";
    case server_state::ready: return "ready";
    case server_state::restarting: return "restarting";
    case server_state::stopped: return "stopped";
  }
  return "unknown";
}

json rpc_error::to_json() const {
  json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return error;
}

void throw_exception_from_error(const rpc_error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

bool server_message::is_request() const noexcept { return message.is_object() && message.contains("id"); }

std::string server_message::method() const {
  if (!message.is_object()) return {};
  auto it = message.find("method");
  return it != message.end() && it->is_string() ? it->get<std::string>() : std::string();
}

time_point deadline_after(time_point from, duration d) {
  if (d <= duration::zero()) return from;
  if (d >= time_point::max() - from) return time_point::max();
  return from + d;
}

std::string describe_delay(duration d) {
  const long long ms = std::max<long long>(0, std::chrono::ceil<std::chrono::milliseconds>(d).count());
  if (ms < 1000) return jsonrpc::describe_duration_ms(ms);
  return jsonrpc::describe_duration_ms((ms + 999) / 1000 * 1000);
}

std::string printable(std::string_view text, std::size_t limit) {
  std::string out;
  out.reserve(std::min(text.size(), limit));
  for (char c : text.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back((u < 0x20 && c != '\t') || u == 0x7f ? '?' : c);
  }
  if (text.size() > limit) out += "...";
  return out;
}

// One call() in flight, or one request() waiting for ready. Lives in the caller's
// coroutine frame; the upstream only holds pointers to it while it is registered.
struct rpc_upstream::pending_request {
  explicit pending_request(asio::any_io_executor executor) : timer(std::move(executor)) {}
  std::string method;
  json progress_token;  // null: none
  std::uint64_t session = 0;
  duration idle{};
  time_point idle_deadline{};
  time_point hard_deadline{};
  bool progressed = false;
  std::optional<rpc_result<json>> outcome;
  // Waits for the deadline; cancelled to wake the waiter (outcome, progress, state).
  asio::steady_timer timer;
};

// ---------------------------------------------------------------------------------
// Construction, state

rpc_upstream::rpc_upstream(asio::any_io_executor executor, std::string subject, std::string log_component,
                           rpc_upstream_options options)
    : executor_(executor),
      options_(std::move(options)),
      log_component_(std::move(log_component)),
      loops_(executor),
      subject_(std::move(subject)),
      framer_(options_.max_line_length),
      supervisor_timer_(executor),
      write_wakeup_(executor),
      lifecycle_wakeup_(executor),
      state_signal_(executor),
      queue_signal_(executor),
      tools_signal_(executor) {
  if (options_.protocol_versions.empty()) options_.protocol_versions = default_protocol_versions;
}

rpc_upstream::~rpc_upstream() = default;

rpc_error rpc_upstream::unavailable_error() const {
  std::string reason = unavailable_reason();
  if (reason.empty()) reason = subject_ + " is not available";
  return rpc_error{codes::connection_closed, std::move(reason), json(), false};
}

std::string rpc_upstream::describe_request(std::string_view method) const {
  return "request " + std::string(method) + " to " + subject_;
}

std::string rpc_upstream::over_limit(std::size_t size, std::size_t limit) const {
  return "it is " + std::to_string(size) + " bytes, over the message size limit of " + describe_size(limit);
}

void rpc_upstream::set_state(server_state state) {
  if (state_ == state) return;
  state_ = state;
  ++state_version_;
  state_signal_.notify();
  wake_waiters();
  if (state == server_state::stopped) {
    queue_signal_.notify();
    tools_signal_.notify();
  }
}

void rpc_upstream::wake_supervisor() noexcept { supervisor_timer_.cancel(); }

void rpc_upstream::retry_now() noexcept {
  if (state_ != server_state::restarting || stop_requested_) return;
  retry_requested_ = true;
  wake_supervisor();
}

void rpc_upstream::wake_waiters() noexcept {
  for (auto* waiter : waiting_) waiter->timer.cancel();
}

void rpc_upstream::stop() noexcept {
  if (stop_requested_) return;
  stop_requested_ = true;
  wake_supervisor();
  wake_waiters();
}

task<void> rpc_upstream::state_changed(std::uint64_t seen) {
  while (state_version_ == seen && state_ != server_state::stopped) {
    co_await state_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) co_return;
  }
}

task<bool> rpc_upstream::wait_for_state(server_state wanted) {
  while (state_ != wanted) {
    if (state_ == server_state::stopped) co_return false;
    co_await state_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) co_return state_ == wanted;
  }
  co_return true;
}

task<bool> rpc_upstream::supervise_until(std::function<bool()> done, time_point deadline) {
  for (;;) {
    if (done()) co_return true;
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) {
      // The owner gave up waiting for a graceful stop: stop now, skip the graces, but
      // still wait (without limit) for what must happen (a child's exit, the loops).
      if (!hurry_) {
        hurry_ = true;
        stop();
        continue;
      }
      if (deadline != time_point::max()) co_return false;
    }
    if (now() >= deadline) co_return false;
    supervisor_timer_.expires_at(deadline);
    co_await supervisor_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// ---------------------------------------------------------------------------------
// Sessions

task<void> rpc_upstream::run() {
  if (started_) co_return;  // exactly one owner runs the upstream
  started_ = true;
  // Cancellation means "stop now" here (supervise_until), and stopping still has to
  // await what the session started: Asio's default would throw from every later co_await.
  co_await asio::this_coro::throw_if_cancelled(false);
  if (is_disabled()) {
    last_error_ = unavailable_reason();
    set_state(server_state::stopped);
    co_return;
  }
  restart_backoff backoff(options_.backoff);
  while (!stop_requested_) {
    set_state(server_state::starting);
    co_await run_session(backoff);
    if (stop_requested_) break;
    co_await supervise_until([this] { return stop_requested_ || retry_requested_; }, restart_at_);
    retry_requested_ = false;
  }
  set_state(server_state::stopped);
  fail_pending([this](std::string_view) { return unavailable_error(); });
  log::emit(lifecycle_level(), log_component_, "{} stopped", subject_);
}

p2p::log::level rpc_upstream::lifecycle_level() const noexcept {
  return options_.quiet_lifecycle ? p2p::log::level::debug : p2p::log::level::info;
}

void rpc_upstream::begin_session() {
  ++session_;
  framer_ = jsonrpc::line_framer(options_.max_line_length);
  output_.clear();
  session_over_ = false;
  output_closed_ = output_failed_ = closing_output_ = false;
  fatal_.reset();
  initialize_refused_ = false;
  ready_since_.reset();
  tools_dirty_ = false;
  noise_lines_ = 0;
}

void rpc_upstream::end_session(restart_backoff& backoff, std::string cause, duration min_delay) {
  session_over_ = true;
  if (stop_requested_) {
    const rpc_error stopped{codes::connection_closed, subject_ + " was stopped", json(), false};
    fail_pending([&](std::string_view) { return stopped; });
  } else {
    const auto delay = std::max(backoff.on_session_end(ready_since_, now()), min_delay);
    restart_at_ = deadline_after(now(), delay);
    last_error_ = std::move(cause);
    set_state(server_state::restarting);
    log::warn(log_component_, "{}", unavailable_error().message);
    fail_pending([this](std::string_view method) { return session_lost_error(method); });
  }
  write_wakeup_.notify();
  lifecycle_wakeup_.notify();
}

void rpc_upstream::fail_pending(const std::function<rpc_error(std::string_view method)>& make) {
  // Moved out first: a woken caller may start a new request only after we return, but
  // the map must not change under the loop anyway.
  auto failed = std::move(pending_);
  pending_.clear();
  for (auto& [id, request] : failed) {
    request->outcome = rpc_result<json>(make(request->method));
    request->timer.cancel();
  }
  wake_waiters();
}

void rpc_upstream::fatal(std::string sentence) {
  if (!fatal_) fatal_ = std::move(sentence);
  wake_supervisor();
}

// ---------------------------------------------------------------------------------
// Output

task<void> rpc_upstream::write_loop() {
  std::string batch;
  for (;;) {
    if (session_over_ || output_closed_) co_return;
    if (output_.empty()) {
      if (closing_output_) {
        output_closed_ = true;
        co_await close_output();
        co_return;
      }
      co_await write_wakeup_.wait();
      continue;
    }
    batch.clear();
    batch.swap(output_);  // everything queued goes out in one write
    if (!co_await write_output(batch)) {
      output_closed_ = output_failed_ = true;
      wake_supervisor();
      co_return;
    }
  }
}

void rpc_upstream::close_output_when_drained() {
  closing_output_ = true;
  write_wakeup_.notify();
}

bool rpc_upstream::send_line(std::string line) {
  if (session_over_ || output_closed_ || closing_output_) return false;
  if (output_.size() + line.size() > options_.max_output_buffer) return false;
  output_ += line;
  write_wakeup_.notify();
  return true;
}

bool rpc_upstream::send(const json& message) {
  std::string line = jsonrpc::encode_line(message);
  if (line.size() - 1 > options_.max_outgoing_line) {
    log::warn(log_component_, "a message to {} was not sent: {}", subject_,
              over_limit(line.size() - 1, options_.max_outgoing_line));
    return false;
  }
  return send_line(std::move(line));
}

// ---------------------------------------------------------------------------------
// Messages from the server

void rpc_upstream::handle_input(std::string_view data) {
  framer_.feed(data);
  while (auto frame = framer_.poll()) handle_frame(std::move(*frame));
}

void rpc_upstream::handle_end_of_input() {
  if (session_over_) return;
  framer_.finish();
  while (auto frame = framer_.poll()) handle_frame(std::move(*frame));
}

void rpc_upstream::handle_frame(jsonrpc::frame frame) {
  if (frame.is_oversized()) {
    handle_oversized(frame);
    return;
  }
  auto parsed = jsonrpc::parse_line(frame.line);
  for (auto& error : parsed.errors) {
    if (!error["id"].is_null()) {
      send(error);  // an invalid request we can answer by its id
      continue;
    }
    // Servers MUST NOT send anything that is not a valid MCP message: usually a server
    // logging to stdout. Logged (the first few per session), never answered.
    if (++noise_lines_ <= 10) {
      log::warn(log_component_, "{} sent a line that is not a JSON-RPC message ({}): {}", subject_,
                error["error"].value("message", ""), printable(frame.line, 200));
    } else if (noise_lines_ == 11) {
      log::warn(log_component_, "{}: further non-JSON-RPC lines are not logged", subject_);
    }
  }
  for (auto& message : parsed.messages) handle_message(std::move(message));
}

void rpc_upstream::handle_message(json message) {
  switch (jsonrpc::classify(message)) {
    case jsonrpc::message_kind::response:
      handle_response(message);
      return;
    case jsonrpc::message_kind::notification: {
      const auto& method = message["method"].get_ref<const std::string&>();
      if (method == "notifications/progress") {
        handle_progress(message);
      } else if (method == "notifications/tools/list_changed") {
        tools_dirty_ = true;
        lifecycle_wakeup_.notify();
      }
      enqueue(std::move(message));
      return;
    }
    case jsonrpc::message_kind::request:
      // basic/utilities/ping: "MUST respond promptly with an empty response".
      if (message["method"] == "ping") {
        send(jsonrpc::make_result_response(message["id"], json::object()));
        return;
      }
      enqueue(std::move(message));
      return;
    case jsonrpc::message_kind::invalid:
      return;  // parse_line only returns valid messages
  }
}

void rpc_upstream::handle_response(const json& message) {
  const json& id = message["id"];
  std::optional<std::int64_t> key;
  if (id.is_number_unsigned()) {
    if (id.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      key = static_cast<std::int64_t>(id.get<std::uint64_t>());
  } else if (id.is_number_integer()) {
    key = id.get<std::int64_t>();
  }
  auto it = key ? pending_.find(*key) : pending_.end();
  if (it == pending_.end()) {
    log::debug(log_component_, "dropped a response with id {} that matches no pending request", dump(id));
    return;
  }
  pending_request* request = it->second;
  pending_.erase(it);
  if (auto result = message.find("result"); result != message.end()) {
    request->outcome = rpc_result<json>(*result);
  } else {
    const json& error = message["error"];
    const auto code = std::clamp<std::int64_t>(error["code"].get<std::int64_t>(), std::numeric_limits<int>::min(),
                                               std::numeric_limits<int>::max());
    request->outcome = rpc_result<json>(rpc_error{static_cast<int>(code), error["message"].get<std::string>(),
                                                  error.value("data", json()), true});
  }
  request->timer.cancel();
}

void rpc_upstream::handle_progress(const json& message) {
  const json& params = message.value("params", json());
  if (!params.is_object()) return;
  auto token = params.find("progressToken");
  if (token == params.end() || token->is_null()) return;
  const time_point t = now();
  for (auto& [id, request] : pending_) {
    if (request->progress_token == *token) {
      request->progressed = true;
      request->idle_deadline = deadline_after(t, request->idle);
      request->timer.cancel();  // re-arm with the later deadline
    }
  }
}

void rpc_upstream::handle_oversized(const jsonrpc::frame& frame) {
  const auto hint = jsonrpc::sniff_message(frame.head, frame.tail);
  const std::string size = over_limit(frame.size, options_.max_line_length);
  if (hint.id && !hint.has_method && hint.id->is_number_integer()) {
    const auto key = hint.id->is_number_unsigned() ? static_cast<std::int64_t>(hint.id->get<std::uint64_t>())
                                                   : hint.id->get<std::int64_t>();
    if (auto it = pending_.find(key); it != pending_.end()) {
      pending_request* request = it->second;
      pending_.erase(it);
      request->outcome = rpc_result<json>(rpc_error{
          codes::message_too_large, "the response to " + request->method + " from " + subject_ + " was dropped: " + size,
          json(), false});
      request->timer.cancel();
      log::warn(log_component_, "dropped the response to {}: {}", request->method, size);
      return;
    }
  }
  if (hint.id && hint.has_method) {
    send(jsonrpc::make_error_response(*hint.id, codes::message_too_large, "the request was dropped: " + size));
  }
  log::warn(log_component_, "{} sent a message that was dropped: {}", subject_, size);
}

void rpc_upstream::enqueue(json message) {
  if (queue_.size() >= options_.max_queued_messages) {
    ++dropped_messages_;
    if (message.contains("id")) {
      send(jsonrpc::make_error_response(message["id"], codes::too_many_requests,
                                        "p2pmcp has too many messages from this server waiting; try again later"));
    }
    if (!dropping_) {
      dropping_ = true;
      log::warn(log_component_, "{}: {} messages are waiting to be taken; dropping new ones", subject_,
                queue_.size());
    }
    return;
  }
  dropping_ = false;
  queue_.push_back(server_message{std::move(message), session_});
  queue_signal_.notify();
}

// ---------------------------------------------------------------------------------
// Lifecycle and tools

void rpc_upstream::hello(client_hello hello) {
  hello_ = std::move(hello);
  lifecycle_wakeup_.notify();
}

task<void> rpc_upstream::lifecycle() {
  const std::string& who = subject_;
  while (options_.await_hello && !hello_ && !session_over_) {
    awaiting_hello_ = true;
    co_await lifecycle_wakeup_.wait();
  }
  awaiting_hello_ = false;
  if (session_over_) co_return;
  const auto& versions = options_.protocol_versions;
  std::string asked = versions.front();
  if (hello_ && std::find(versions.begin(), versions.end(), hello_->protocol_version) != versions.end())
    asked = hello_->protocol_version;
  json params = json::object();
  params["protocolVersion"] = asked;
  params["capabilities"] = hello_ ? hello_->capabilities : options_.capabilities;
  params["clientInfo"] = options_.client_info;
  auto answer = co_await call("initialize", std::move(params), options_.initialize_timeout);
  if (session_over_) co_return;
  if (!answer) {
    const auto& e = answer.error();
    if (e.from_server) initialize_refused_ = true;
    fatal(e.from_server ? who + " refused initialize: " + e.message + " (code " + std::to_string(e.code) + ")"
                        : who + " did not complete initialize: " + e.message);
    co_return;
  }
  const json& result = *answer;
  auto version = result.is_object() ? result.find("protocolVersion") : result.end();
  if (!result.is_object() || version == result.end() || !version->is_string()) {
    fatal(who + " answered initialize without a protocolVersion");
    co_return;
  }
  const std::string& chosen = version->get_ref<const std::string&>();
  if (std::find(versions.begin(), versions.end(), chosen) == versions.end()) {
    std::string supported;
    for (auto& v : versions) supported += (supported.empty() ? "" : ", ") + v;
    // basic/lifecycle "Version Negotiation": the client SHOULD disconnect.
    fatal(who + " wants protocol version " + printable(chosen, 64) + ", which p2pmcp does not support (it speaks " +
          supported + ")");
    co_return;
  }
  protocol_version_ = chosen;
  auto member_object = [&](const char* key) {
    auto it = result.find(key);
    return it != result.end() && it->is_object() ? *it : json::object();
  };
  server_capabilities_ = member_object("capabilities");
  server_info_ = member_object("serverInfo");
  auto instructions = result.find("instructions");
  instructions_ = instructions != result.end() && instructions->is_string() ? instructions->get<std::string>() : "";

  if (!send(jsonrpc::make_notification("notifications/initialized"))) co_return;  // the session is ending
  ready_since_ = now();
  set_state(server_state::ready);
  log::emit(lifecycle_level(), log_component_, "{} is ready: {} {}, protocol {}", subject_,
            printable(server_info_.value("name", std::string("?")), 64),
            printable(server_info_.value("version", std::string("?")), 32), protocol_version_);

  // A client session's own upstream lists nothing: the node serves the catalogue's list.
  const bool has_tools = server_capabilities_.contains("tools") && options_.list_tools;
  if (has_tools) {
    tools_dirty_ = true;
  } else {
    set_tools({});
  }
  while (!session_over_) {
    if (tools_dirty_ && has_tools) {
      tools_dirty_ = false;
      co_await refresh_tools();
      continue;
    }
    co_await lifecycle_wakeup_.wait();
  }
}

task<void> rpc_upstream::refresh_tools() {
  std::vector<json> collected;
  std::optional<std::string> cursor;
  std::set<std::string> cursors_seen;
  std::size_t skipped = 0;
  std::size_t bytes = 0;
  catalogue_report capped;
  for (std::size_t page = 0;; ++page) {
    if (page >= options_.max_tool_pages) {
      log::warn(log_component_, "tools/list has more than {} pages; using the first {}", options_.max_tool_pages,
                options_.max_tool_pages);
      break;
    }
    json params = json::object();
    if (cursor) params["cursor"] = *cursor;
    auto answer = co_await call("tools/list", std::move(params), options_.list_timeout);
    if (session_over_ || stop_requested_) co_return;
    if (!answer) {
      log::warn(log_component_, "tools/list failed: {}; keeping the previous list", answer.error().message);
      co_return;
    }
    const json& result = *answer;
    auto tools = result.is_object() ? result.find("tools") : result.end();
    if (!result.is_object() || tools == result.end() || !tools->is_array()) {
      log::warn(log_component_, "tools/list answered without a \"tools\" array; keeping the previous list");
      co_return;
    }
    if (options_.catalogue) {
      // A peer's list: the caps decide (one log line at the end for the whole list).
      std::vector<json> items;
      items.reserve(tools->size());
      for (auto& item : (*answer)["tools"]) items.push_back(std::move(item));
      capped.add(filter_catalogue(items, catalogue_kind::tools, remaining(*options_.catalogue, capped)));
      for (auto& item : items) collected.push_back(std::move(item));
    }
    for (const auto& tool : *tools) {
      if (options_.catalogue) break;
      auto name = tool.is_object() ? tool.find("name") : tool.end();
      if (!tool.is_object() || name == tool.end() || !name->is_string() || name->get_ref<const std::string&>().empty() ||
          collected.size() >= options_.max_tools) {
        ++skipped;
        continue;
      }
      const std::size_t size = dump(tool).size();
      if (size > options_.max_tools_bytes - std::min(bytes, options_.max_tools_bytes)) {
        ++skipped;
        continue;
      }
      bytes += size;
      collected.push_back(tool);
    }
    auto next = result.find("nextCursor");
    if (next == result.end() || next->is_null()) break;
    if (!next->is_string()) {
      log::warn(log_component_, "tools/list gave a nextCursor that is not a string; stopping there");
      break;
    }
    if (!cursors_seen.insert(next->get<std::string>()).second) {
      log::warn(log_component_, "tools/list gave the same cursor twice; stopping there");
      break;
    }
    cursor = next->get<std::string>();
  }
  if (skipped > 0)
    log::warn(log_component_, "ignored {} tools without a name (or beyond {} tools or {} bytes)", skipped,
              options_.max_tools, options_.max_tools_bytes);
  if (capped.dropped() > 0) log::warn(log_component_, "{}", capped.sentence(catalogue_kind::tools, subject_));
  set_tools(std::move(collected));
}

void rpc_upstream::set_tools(std::vector<json> tools) {
  if (tools == tools_) return;
  tools_ = std::move(tools);
  ++tools_version_;
  tools_signal_.notify();
  log::emit(lifecycle_level(), log_component_, "{} offers {} tools", subject_, tools_.size());
}

task<void> rpc_upstream::tools_changed(std::uint64_t seen) {
  while (tools_version_ == seen && state_ != server_state::stopped) {
    co_await tools_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) co_return;
  }
}

// ---------------------------------------------------------------------------------
// Requests

task<rpc_result<json>> rpc_upstream::request(std::string method, json params, duration timeout,
                                             const std::string* cancel_reason) {
  if (method == "initialize")
    co_return rpc_error{codes::invalid_request, "initialize is sent by p2pmcp itself when it starts the session",
                        json(), false};
  if (!params.is_null() && !params.is_object())
    co_return rpc_error{codes::invalid_params, "the params of " + method + " must be an object", json(), false};
  if (state_ == server_state::starting && !stop_requested_) {
    pending_request waiter(executor_);
    waiting_.insert(&waiter);
    struct unregister {
      rpc_upstream* self;
      pending_request* waiter;
      ~unregister() { self->waiting_.erase(waiter); }
    } guard{this, &waiter};
    const time_point deadline = deadline_after(now(), timeout);
    while (state_ == server_state::starting && !stop_requested_) {
      if (now() >= deadline) {
        std::string message = subject_ + " did not become ready within " + describe(timeout);
        if (!last_error_.empty()) message += " (last failure: " + last_error_ + ")";
        co_return rpc_error{codes::request_timeout, std::move(message), json(), false};
      }
      waiter.timer.expires_at(deadline);
      co_await waiter.timer.async_wait(asio::as_tuple(asio::use_awaitable));
      const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

      if (is_cancelled(cancellation))
        co_return rpc_error{codes::connection_closed, describe_request(method) + " was cancelled", json(), false};
    }
  }
  if (state_ != server_state::ready || stop_requested_) co_return unavailable_error();
  co_return co_await call(std::move(method), std::move(params), timeout, cancel_reason);
}

task<rpc_result<json>> rpc_upstream::call(std::string method, json params, duration timeout,
                                          const std::string* cancel_reason) {
  if (session_over_) co_return unavailable_error();
  if (pending_.size() >= options_.max_pending_requests)
    co_return rpc_error{codes::too_many_requests,
                        subject_ + " has " + std::to_string(pending_.size()) + " requests in progress; try again later",
                        json(), false};

  pending_request request(executor_);
  request.method = method;
  request.session = session_;
  if (params.is_object()) {
    auto meta = params.find("_meta");
    if (meta != params.end() && meta->is_object()) {
      auto token = meta->find("progressToken");
      if (token != meta->end() && (token->is_string() || token->is_number_integer())) request.progress_token = *token;
    }
  }
  const std::int64_t id = next_id_++;
  const time_point start = now();
  request.idle = timeout;
  request.idle_deadline = deadline_after(start, timeout);
  request.hard_deadline = deadline_after(start, std::max(timeout, options_.max_request_duration));

  std::string line = jsonrpc::encode_line(jsonrpc::make_request(id, method, std::move(params)));
  if (line.size() - 1 > options_.max_outgoing_line)
    co_return rpc_error{codes::message_too_large,
                        describe_request(method) + " was not sent: " +
                            over_limit(line.size() - 1, options_.max_outgoing_line),
                        json(), false};
  if (!send_line(std::move(line))) {
    if (session_over_ || output_closed_ || closing_output_) co_return unavailable_error();
    co_return rpc_error{codes::too_many_requests,
                        subject_ + " is not reading its input fast enough; try again later", json(), false};
  }
  pending_[id] = &request;
  struct unregister {
    rpc_upstream* self;
    std::int64_t id;
    pending_request* request;
    ~unregister() {
      auto it = self->pending_.find(id);
      if (it != self->pending_.end() && it->second == request) self->pending_.erase(it);
    }
  } guard{this, id, &request};

  // Tells the server to stop working on it (basic/utilities/cancellation), if the
  // session it went to is still there; never for initialize (basic/lifecycle).
  auto cancel_at_server = [&](const std::string& reason) {
    if (method != "initialize" && request.session == session_ && !session_over_)
      send(jsonrpc::make_cancelled(id, reason));
  };

  for (;;) {
    if (request.outcome) co_return std::move(*request.outcome);
    const time_point t = now();
    if (t >= request.hard_deadline && request.hard_deadline < request.idle_deadline) {
      cancel_at_server("timed out");
      co_return rpc_error{codes::request_timeout,
                          describe_request(method) + " did not complete within the maximum of " +
                              describe(std::max(timeout, options_.max_request_duration)),
                          json(), false};
    }
    if (t >= request.idle_deadline) {
      cancel_at_server("timed out");
      co_return rpc_error{codes::request_timeout,
                          describe_request(method) +
                              (request.progressed ? " timed out: no response or progress for " + describe(timeout)
                                                  : " timed out after " + describe(timeout) + " without a response"),
                          json(), false};
    }
    request.timer.expires_at(std::min(request.idle_deadline, request.hard_deadline));
    co_await request.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (!request.outcome && is_cancelled(cancellation)) {
      cancel_at_server(cancel_reason ? *cancel_reason : std::string("cancelled by the requester"));
      co_return rpc_error{codes::connection_closed, describe_request(method) + " was cancelled", json(), false};
    }
  }
}

bool rpc_upstream::notify(std::string method, json params) {
  if (state_ != server_state::ready || stop_requested_) return false;
  return send(jsonrpc::make_notification(std::move(method), std::move(params)));
}

// ---------------------------------------------------------------------------------
// Server-initiated messages

std::optional<server_message> rpc_upstream::poll_message() {
  if (queue_.empty()) return std::nullopt;
  auto message = std::move(queue_.front());
  queue_.pop_front();
  return message;
}

task<std::optional<server_message>> rpc_upstream::next_message() {
  for (;;) {
    if (!queue_.empty()) co_return poll_message();
    if (state_ == server_state::stopped) co_return std::nullopt;
    co_await queue_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) co_return std::nullopt;
  }
}

bool rpc_upstream::answer(const server_message& request, json response) {
  if (!request.is_request() || request.session != session_ || session_over_) return false;
  std::string line = jsonrpc::encode_line(response);
  if (line.size() - 1 > options_.max_outgoing_line) {
    // The server would drop it and wait for ever: tell it instead.
    const std::string size = over_limit(line.size() - 1, options_.max_outgoing_line);
    log::warn(log_component_, "the answer to {} for {} was not sent: {}", request.method(), subject_, size);
    send(jsonrpc::make_error_response(request.message["id"], codes::message_too_large,
                                      "the response was dropped: " + size));
    return false;
  }
  return send_line(std::move(line));
}

bool rpc_upstream::respond(const server_message& request, json result) {
  if (!request.is_request()) return false;
  return answer(request, jsonrpc::make_result_response(request.message["id"], std::move(result)));
}

bool rpc_upstream::respond_error(const server_message& request, int code, std::string message, json data) {
  if (!request.is_request()) return false;
  return answer(request,
                jsonrpc::make_error_response(request.message["id"], code, std::move(message), std::move(data)));
}

}  // namespace mcp::server
