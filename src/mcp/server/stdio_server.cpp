#include "mcp/server/stdio_server.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <signal.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mcp::server {

namespace log = p2p::log;
namespace codes = jsonrpc::codes;

namespace {

using steady = std::chrono::steady_clock;

time_point now() { return steady::now(); }

// now + d without overflow: duration::max() means "never".
time_point deadline_after(time_point from, duration d) {
  if (d <= duration::zero()) return from;
  if (d >= time_point::max() - from) return time_point::max();
  return from + d;
}

long long to_ms(duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

std::string describe(duration d) {
  if (d == duration::max()) return "ever";
  return jsonrpc::describe_duration_ms(to_ms(d));
}

// Delays in sentences: whole seconds (rounded up) from one second on, so a restart in
// 1999 ms reads "restarting in 2 s".
std::string describe_delay(duration d) {
  const long long ms = std::max<long long>(0, std::chrono::ceil<std::chrono::milliseconds>(d).count());
  if (ms < 1000) return jsonrpc::describe_duration_ms(ms);
  return jsonrpc::describe_duration_ms((ms + 999) / 1000 * 1000);
}

std::string describe_size(std::size_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// Text from a child for a log line or a sentence: control characters (other than tab)
// become '?', so a hostile line cannot forge log lines or move the cursor; cut at `limit`.
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

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// Call with a local copy of the state, never with `co_await ...` as the argument: g++ 12
// compiles `if (is_cancelled(co_await this_coro::cancellation_state))` into a trap (ud2).
bool is_cancelled(const asio::cancellation_state& state) { return state.cancelled() != asio::cancellation_type::none; }

// Writing to a pipe whose reader died raises SIGPIPE, which would end the node.
void ignore_sigpipe() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
      current.sa_handler == SIG_DFL) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, nullptr);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------
// Small types

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

// One call() in flight, or one request() waiting for ready. Lives in the caller's
// coroutine frame; the server only holds pointers to it while it is registered.
struct stdio_server::pending_request {
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

stdio_server::stdio_server(asio::any_io_executor executor, server_spec spec, stdio_server_options options)
    : executor_(executor),
      spec_(std::move(spec)),
      options_(std::move(options)),
      log_component_("mcp/" + spec_.name),
      framer_(options_.max_line_length),
      supervisor_timer_(executor),
      write_wakeup_(executor),
      lifecycle_wakeup_(executor),
      state_signal_(executor),
      queue_signal_(executor),
      tools_signal_(executor),
      loops_(executor) {
  if (options_.protocol_versions.empty()) options_.protocol_versions = default_protocol_versions;
  ignore_sigpipe();
}

// A child still running here means run() was never finished; child_process's
// destructor kills and reaps it.
stdio_server::~stdio_server() = default;

std::optional<int> stdio_server::pid() const noexcept {
  if (child_ && child_->is_running()) return child_->pid();
  return std::nullopt;
}

std::string stdio_server::unavailable_reason() const {
  const std::string who = "MCP server '" + spec_.name + "'";
  if (spec_.disabled) return who + " is disabled in the config";
  if (state_ == server_state::stopped || stop_requested_) return who + " is stopped";
  if (state_ == server_state::restarting) {
    const auto left = restart_at_ - now();
    return last_error_ + "; restarting in " + describe_delay(left > duration::zero() ? left : duration::zero());
  }
  return {};
}

rpc_error stdio_server::unavailable_error() const {
  std::string reason = unavailable_reason();
  if (reason.empty()) reason = "MCP server '" + spec_.name + "' is not running";
  return rpc_error{codes::connection_closed, std::move(reason), json(), false};
}

std::string stdio_server::describe_request(std::string_view method) const {
  return "request " + std::string(method) + " to MCP server '" + spec_.name + "'";
}

void stdio_server::set_state(server_state state) {
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

void stdio_server::wake_supervisor() noexcept { supervisor_timer_.cancel(); }

void stdio_server::wake_waiters() noexcept {
  for (auto* waiter : waiting_) waiter->timer.cancel();
}

void stdio_server::stop() noexcept {
  if (stop_requested_) return;
  stop_requested_ = true;
  wake_supervisor();
  wake_waiters();
}

task<void> stdio_server::state_changed(std::uint64_t seen) {
  while (state_version_ == seen) {
    co_await state_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) co_return;
  }
}

task<bool> stdio_server::wait_for_state(server_state wanted) {
  while (state_ != wanted) {
    if (state_ == server_state::stopped) co_return false;
    co_await state_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) co_return state_ == wanted;
  }
  co_return true;
}

task<bool> stdio_server::supervise_until(condition done, time_point deadline) {
  for (;;) {
    if (done(*this)) co_return true;
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) {
      // The owner gave up waiting for a graceful stop: stop now, skip the graces, but
      // still wait (without limit) for what must happen, the child's exit.
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
// Supervision

task<void> stdio_server::run() {
  if (started_) co_return;  // exactly one owner runs the server
  started_ = true;
  // Cancellation means "stop now" here (supervise_until), and stopping still has to
  // await the child's exit: Asio's default would throw from every later co_await.
  co_await asio::this_coro::throw_if_cancelled(false);
  if (spec_.disabled) {
    last_error_ = unavailable_reason();
    set_state(server_state::stopped);
    co_return;
  }
  restart_backoff backoff(options_.backoff);
  while (!stop_requested_) {
    set_state(server_state::starting);
    co_await run_session(backoff);
    if (stop_requested_) break;
    co_await supervise_until([](const stdio_server& s) { return s.stop_requested_; }, restart_at_);
  }
  set_state(server_state::stopped);
  fail_pending(unavailable_error());
  log::info(log_component_, "MCP server '{}' stopped", spec_.name);
}

task<void> stdio_server::run_session(restart_backoff& backoff) {
  ++session_;
  framer_ = jsonrpc::line_framer(options_.max_line_length);
  output_.clear();
  session_over_ = false;
  stdin_closed_ = stdout_eof_ = stderr_eof_ = exited_ = false;
  fatal_.reset();
  ready_since_.reset();
  tools_dirty_ = false;
  last_stderr_line_.clear();
  noise_lines_ = 0;
  const std::string who = "MCP server '" + spec_.name + "'";

  child_ = std::make_unique<child_process>(executor_);
  std::string cause;
  if (auto error = child_->start(spec_)) {
    cause = who + " could not be started: " + *error;
  } else {
    log::info(log_component_, "started {} (pid {})", spec_.command, child_->pid());
    loops_.spawn(read_stdout(), "mcp server stdout");
    loops_.spawn(read_stderr(), "mcp server stderr");
    loops_.spawn(write_stdin(), "mcp server stdin");
    loops_.spawn(watch_exit(), "mcp server exit watch");
    loops_.spawn(lifecycle(), "mcp server lifecycle");

    co_await supervise_until(
        [](const stdio_server& s) { return s.exited_ || s.stdout_eof_ || s.fatal_ || s.stop_requested_; },
        time_point::max());

    // Shutdown as basic/lifecycle "stdio" describes: close its input, wait, SIGTERM,
    // wait, SIGKILL. Also used when it closed its output or failed the lifecycle.
    bool terminated = false;
    const bool exited_first = exited_ || (stdout_eof_ && !fatal_ && !stop_requested_);
    if (!exited_) {
      stdin_closed_ = true;
      child_->close_stdin();
      write_wakeup_.notify();
      constexpr condition has_exited = [](const stdio_server& s) { return s.exited_; };
      const duration grace = hurry_ ? duration::zero() : options_.stop_grace;
      if (!co_await supervise_until(has_exited, deadline_after(now(), grace))) {
        terminated = true;
        child_->signal_group(SIGTERM);
        if (!co_await supervise_until(has_exited, deadline_after(now(), hurry_ ? duration::zero() : grace))) {
          child_->signal_group(SIGKILL);
          co_await supervise_until(has_exited, time_point::max());
        }
      }
    }
    // reap() also kills what is left of its process group, so pipes that a grandchild
    // held open now close; then take in the last output it wrote (often the error).
    const exit_status status = child_->reap();
    co_await supervise_until([](const stdio_server& s) { return s.stdout_eof_ && s.stderr_eof_; },
                             deadline_after(now(), hurry_ ? duration::zero() : options_.exit_drain));

    // Whichever of exit and end of output we noticed first, a child that exited without
    // our signals is described by its exit status; one we had to terminate had closed
    // its output (or failed the lifecycle) and then hung.
    if (fatal_) {
      cause = *fatal_;
    } else if (terminated) {
      cause = who + " closed its output and was terminated";
    } else {
      cause = who + " " + status.describe();
    }
    // Its last words, when it died on its own (after our stdin close or signals they
    // would only be about that).
    if (!fatal_ && !terminated && exited_first && !last_stderr_line_.empty())
      cause += " (last stderr line: \"" + printable(last_stderr_line_, 200) + "\")";
    log::debug(log_component_, "pid {} {}", child_->pid(), status.describe());
  }

  session_over_ = true;
  if (stop_requested_) {
    fail_pending(rpc_error{codes::connection_closed, who + " was stopped", json(), false});
  } else {
    const auto delay = backoff.on_session_end(ready_since_, now());
    restart_at_ = deadline_after(now(), delay);
    last_error_ = cause;
    set_state(server_state::restarting);
    const rpc_error error = unavailable_error();
    log::warn(log_component_, "{}", error.message);
    fail_pending(error);
  }

  // End this run's coroutines: readers see their pipes closed, the writer and the
  // lifecycle see session_over_, the exit watch was closed by reap().
  boost::system::error_code ignored;
  child_->stdout_pipe().close(ignored);
  child_->stderr_pipe().close(ignored);
  child_->close_stdin();
  child_->close_exit_watch();
  write_wakeup_.notify();
  lifecycle_wakeup_.notify();
  co_await loops_.wait();
  child_.reset();
}

task<void> stdio_server::watch_exit() {
  co_await child_->wait_exit();
  if (child_->has_exited()) {
    exited_ = true;
    wake_supervisor();
  }
}

// ---------------------------------------------------------------------------------
// Pipes

task<void> stdio_server::read_stdout() {
  std::vector<char> buffer(64 * 1024);
  auto& pipe = child_->stdout_pipe();
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    framer_.feed(std::string_view(buffer.data(), n));
    while (auto frame = framer_.poll()) handle_frame(std::move(*frame));
  }
  if (!session_over_) {
    // A last message without its newline still counts.
    framer_.finish();
    while (auto frame = framer_.poll()) handle_frame(std::move(*frame));
  }
  stdout_eof_ = true;
  wake_supervisor();
}

task<void> stdio_server::read_stderr() {
  std::vector<char> buffer(16 * 1024);
  std::string line;
  bool skipping = false;  // the rest of a line that was cut
  auto& pipe = child_->stderr_pipe();
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    std::string_view data(buffer.data(), n);
    while (!data.empty()) {
      const auto newline = data.find('\n');
      const std::string_view part = data.substr(0, newline);
      if (!skipping) {
        const std::size_t room = options_.max_stderr_line - std::min(line.size(), options_.max_stderr_line);
        line.append(part.substr(0, room));
        if (part.size() > room) {
          handle_stderr_line(line + " [line cut]");
          line.clear();
          skipping = true;
        }
      }
      if (newline == std::string_view::npos) break;
      if (!skipping) handle_stderr_line(line);
      line.clear();
      skipping = false;
      data.remove_prefix(newline + 1);
    }
  }
  if (!line.empty()) handle_stderr_line(line);
  stderr_eof_ = true;
  wake_supervisor();
}

void stdio_server::handle_stderr_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  std::string text = printable(line, options_.max_stderr_line + 16);
  log::info(log_component_, "{}", text);
  last_stderr_line_ = text;
  stderr_lines_.push_back(std::move(text));
  while (stderr_lines_.size() > options_.stderr_lines_kept) stderr_lines_.pop_front();
}

task<void> stdio_server::write_stdin() {
  std::string batch;
  for (;;) {
    if (session_over_ || stdin_closed_) break;
    if (output_.empty()) {
      co_await write_wakeup_.wait();
      continue;
    }
    batch.clear();
    batch.swap(output_);  // everything queued goes out in one write
    auto [ec, n] = co_await asio::async_write(child_->stdin_pipe(), asio::buffer(batch),
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) {
      // EPIPE: it closed its stdin or died; the exit watch or stdout tells the rest.
      if (!session_over_) log::debug(log_component_, "writing to its stdin failed: {}", ec.message());
      stdin_closed_ = true;
      break;
    }
  }
}

bool stdio_server::send(const json& message) {
  if (!child_ || session_over_ || stdin_closed_) return false;
  const std::string line = jsonrpc::encode_line(message);
  if (output_.size() + line.size() > options_.max_output_buffer) return false;
  output_ += line;
  write_wakeup_.notify();
  return true;
}

// ---------------------------------------------------------------------------------
// Messages from the server

void stdio_server::handle_frame(jsonrpc::frame frame) {
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
    // "MUST NOT write anything to its stdout that is not a valid MCP message": usually
    // a server logging to stdout. Logged (the first few per run), never answered.
    if (++noise_lines_ <= 10) {
      log::warn(log_component_, "MCP server '{}' wrote a line to stdout that is not a JSON-RPC message ({}): {}",
                spec_.name, error["error"].value("message", ""), printable(frame.line, 200));
    } else if (noise_lines_ == 11) {
      log::warn(log_component_, "MCP server '{}': further non-JSON-RPC stdout lines are not logged", spec_.name);
    }
  }
  for (auto& message : parsed.messages) handle_message(std::move(message));
}

void stdio_server::handle_message(json message) {
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

void stdio_server::handle_response(const json& message) {
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

void stdio_server::handle_progress(const json& message) {
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

void stdio_server::handle_oversized(const jsonrpc::frame& frame) {
  const auto hint = jsonrpc::sniff_message(frame.head, frame.tail);
  const std::string size = "it is " + std::to_string(frame.size) + " bytes, over the message size limit of " +
                           describe_size(options_.max_line_length);
  if (hint.id && !hint.has_method && hint.id->is_number_integer()) {
    const auto key = hint.id->is_number_unsigned() ? static_cast<std::int64_t>(hint.id->get<std::uint64_t>())
                                                   : hint.id->get<std::int64_t>();
    if (auto it = pending_.find(key); it != pending_.end()) {
      pending_request* request = it->second;
      pending_.erase(it);
      request->outcome = rpc_result<json>(
          rpc_error{codes::message_too_large,
                    "the response to " + request->method + " from MCP server '" + spec_.name + "' was dropped: " + size,
                    json(), false});
      request->timer.cancel();
      log::warn(log_component_, "dropped the response to {}: {}", request->method, size);
      return;
    }
  }
  if (hint.id && hint.has_method) {
    send(jsonrpc::make_error_response(*hint.id, codes::message_too_large, "the request was dropped: " + size));
  }
  log::warn(log_component_, "MCP server '{}' wrote a message that was dropped: {}", spec_.name, size);
}

void stdio_server::enqueue(json message) {
  if (queue_.size() >= options_.max_queued_messages) {
    ++dropped_messages_;
    if (message.contains("id")) {
      send(jsonrpc::make_error_response(message["id"], codes::too_many_requests,
                                        "p2pmcp has too many messages from this server waiting; try again later"));
    }
    if (!dropping_) {
      dropping_ = true;
      log::warn(log_component_, "MCP server '{}': {} messages are waiting to be taken; dropping new ones",
                spec_.name, queue_.size());
    }
    return;
  }
  dropping_ = false;
  queue_.push_back(server_message{std::move(message), session_});
  queue_signal_.notify();
}

void stdio_server::fail_pending(const rpc_error& error) {
  // Moved out first: a woken caller may start a new request only after we return, but
  // the map must not change under the loop anyway.
  auto failed = std::move(pending_);
  pending_.clear();
  for (auto& [id, request] : failed) {
    request->outcome = rpc_result<json>(error);
    request->timer.cancel();
  }
  wake_waiters();
}

void stdio_server::fatal(std::string sentence) {
  if (!fatal_) fatal_ = std::move(sentence);
  wake_supervisor();
}

// ---------------------------------------------------------------------------------
// Lifecycle and tools

task<void> stdio_server::lifecycle() {
  const std::string who = "MCP server '" + spec_.name + "'";
  json params = {{"protocolVersion", options_.protocol_versions.front()},
                 {"capabilities", options_.capabilities},
                 {"clientInfo", options_.client_info}};
  auto answer = co_await call("initialize", std::move(params), options_.initialize_timeout);
  if (session_over_) co_return;
  if (!answer) {
    const auto& e = answer.error();
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
  const auto& versions = options_.protocol_versions;
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

  if (!send(jsonrpc::make_notification("notifications/initialized"))) co_return;  // the run is ending
  ready_since_ = now();
  set_state(server_state::ready);
  log::info(log_component_, "MCP server '{}' is ready: {} {}, protocol {}", spec_.name,
            printable(server_info_.value("name", std::string("?")), 64),
            printable(server_info_.value("version", std::string("?")), 32), protocol_version_);

  const bool has_tools = server_capabilities_.contains("tools");
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

task<void> stdio_server::refresh_tools() {
  std::vector<json> collected;
  std::optional<std::string> cursor;
  std::set<std::string> cursors_seen;
  std::size_t skipped = 0;
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
    for (const auto& tool : *tools) {
      auto name = tool.is_object() ? tool.find("name") : tool.end();
      if (!tool.is_object() || name == tool.end() || !name->is_string() || name->get_ref<const std::string&>().empty() ||
          collected.size() >= options_.max_tools) {
        ++skipped;
        continue;
      }
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
    log::warn(log_component_, "ignored {} tools without a name (or beyond {} tools)", skipped, options_.max_tools);
  set_tools(std::move(collected));
}

void stdio_server::set_tools(std::vector<json> tools) {
  if (tools == tools_) return;
  tools_ = std::move(tools);
  ++tools_version_;
  tools_signal_.notify();
  log::info(log_component_, "MCP server '{}' offers {} tools", spec_.name, tools_.size());
}

task<void> stdio_server::tools_changed(std::uint64_t seen) {
  while (tools_version_ == seen && state_ != server_state::stopped) {
    co_await tools_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) co_return;
  }
}

// ---------------------------------------------------------------------------------
// Requests

task<rpc_result<json>> stdio_server::request(std::string method, json params, duration timeout) {
  if (method == "initialize")
    co_return rpc_error{codes::invalid_request, "initialize is sent by p2pmcp itself when it starts the server",
                        json(), false};
  if (!params.is_null() && !params.is_object())
    co_return rpc_error{codes::invalid_params, "the params of " + method + " must be an object", json(), false};
  if (state_ == server_state::starting && !stop_requested_) {
    pending_request waiter(executor_);
    waiting_.insert(&waiter);
    struct unregister {
      stdio_server* self;
      pending_request* waiter;
      ~unregister() { self->waiting_.erase(waiter); }
    } guard{this, &waiter};
    const time_point deadline = deadline_after(now(), timeout);
    while (state_ == server_state::starting && !stop_requested_) {
      if (now() >= deadline) {
        std::string message = "MCP server '" + spec_.name + "' did not become ready within " + describe(timeout);
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
  co_return co_await call(std::move(method), std::move(params), timeout);
}

task<rpc_result<json>> stdio_server::call(std::string method, json params, duration timeout) {
  if (!child_ || session_over_) co_return unavailable_error();
  if (pending_.size() >= options_.max_pending_requests)
    co_return rpc_error{codes::too_many_requests,
                        "MCP server '" + spec_.name + "' has " + std::to_string(pending_.size()) +
                            " requests in progress; try again later",
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

  if (!send(jsonrpc::make_request(id, method, std::move(params)))) {
    if (session_over_ || stdin_closed_) co_return unavailable_error();
    co_return rpc_error{codes::too_many_requests,
                        "MCP server '" + spec_.name + "' is not reading its input fast enough; try again later",
                        json(), false};
  }
  pending_[id] = &request;
  struct unregister {
    stdio_server* self;
    std::int64_t id;
    pending_request* request;
    ~unregister() {
      auto it = self->pending_.find(id);
      if (it != self->pending_.end() && it->second == request) self->pending_.erase(it);
    }
  } guard{this, id, &request};

  // Tells the server to stop working on it (basic/utilities/cancellation), if the run
  // it went to is still there; never for initialize (basic/lifecycle).
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
      cancel_at_server("cancelled by the requester");
      co_return rpc_error{codes::connection_closed, describe_request(method) + " was cancelled", json(), false};
    }
  }
}

bool stdio_server::notify(std::string method, json params) {
  if (state_ != server_state::ready || stop_requested_) return false;
  return send(jsonrpc::make_notification(std::move(method), std::move(params)));
}

// ---------------------------------------------------------------------------------
// Server-initiated messages

std::optional<server_message> stdio_server::poll_message() {
  if (queue_.empty()) return std::nullopt;
  auto message = std::move(queue_.front());
  queue_.pop_front();
  return message;
}

task<std::optional<server_message>> stdio_server::next_message() {
  for (;;) {
    if (!queue_.empty()) co_return poll_message();
    if (state_ == server_state::stopped) co_return std::nullopt;
    co_await queue_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;

    if (is_cancelled(cancellation)) co_return std::nullopt;
  }
}

bool stdio_server::respond(const server_message& request, json result) {
  if (!request.is_request() || request.session != session_ || session_over_) return false;
  return send(jsonrpc::make_result_response(request.message["id"], std::move(result)));
}

bool stdio_server::respond_error(const server_message& request, int code, std::string message, json data) {
  if (!request.is_request() || request.session != session_ || session_over_) return false;
  return send(jsonrpc::make_error_response(request.message["id"], code, std::move(message), std::move(data)));
}

}  // namespace mcp::server
