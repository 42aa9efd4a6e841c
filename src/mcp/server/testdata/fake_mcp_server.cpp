// A tiny stdio MCP server for mcp_server_test: newline-delimited JSON-RPC on
// stdin/stdout, diagnostics on stderr. Single-threaded and blocking on purpose: it is
// the simplest possible correct server, plus tools that misbehave on request.
//
// Options:
//   --versions=a,b,...  protocol versions it supports (default 2025-11-25,2025-06-18,
//                       2025-03-26); it echoes the requested one if supported, else
//                       answers with its first
//   --init-error        answers initialize with -32602 "Unsupported protocol version"
//   --page-size=N       tools per tools/list page (default 2; cursors are "page-<i>")
//   --no-tools          declares no tools capability
//   --noise             writes a line that is not JSON-RPC to stdout first
//   --ignore-stdin-eof  keeps running after stdin closes
//   --ignore-sigterm    ignores SIGTERM
//
// Tools (tools/call name): echo {text}, crash {status} (exits at once), slow {steps}
// (notifications/progress before the answer when a progressToken is given),
// change_tools (adds/removes the tool "extra" and sends notifications/tools/list_changed),
// hang (never answers), cancellations (the requestIds of notifications/cancelled seen),
// sample (asks the client sampling/createMessage and returns its answer), ping_client
// (pings the client), big {size} (a text of that many bytes), env {name}, cwd,
// state (what the lifecycle looked like from here), log {text} (to stderr),
// close_stdout (closes stdout, keeps running), params {zeta, alpha, mid} (returns the
// params it received as text, byte for byte; its inputSchema's members are not in
// alphabetical order), form (asks the client elicitation/create with a form whose fields
// are not in alphabetical order and returns the client's answer as text, byte for byte).
#include "mcp/jsonrpc/json.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

using json = mcp::json;

struct settings {
  std::vector<std::string> versions = {"2025-11-25", "2025-06-18", "2025-03-26"};
  bool init_error = false;
  std::size_t page_size = 2;
  bool tools = true;
  bool noise = false;
  bool ignore_stdin_eof = false;
  bool ignore_sigterm = false;
};

settings options;
bool initialized = false;
int requests_before_initialized = 0;
std::string negotiated;
json client_info;
json client_capabilities;
bool extra_tool = false;
json cancellations = json::array();
bool stdout_closed = false;

void send(const json& message) {
  if (stdout_closed) return;
  const std::string line = message.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void log(const std::string& text) {
  std::fprintf(stderr, "fake_mcp_server: %s\n", text.c_str());
  std::fflush(stderr);
}

[[noreturn]] void stdin_closed() {
  if (!options.ignore_stdin_eof) {
    log("stdin closed, exiting");
    std::exit(0);
  }
  log("stdin closed, staying alive");
  for (;;) ::pause();
}

json read_message() {
  std::string line;
  for (;;) {
    if (!std::getline(std::cin, line)) stdin_closed();
    if (line.empty()) continue;
    json message = json::parse(line, nullptr, false);
    if (message.is_discarded()) {
      log("received a line that is not JSON");
      continue;
    }
    return message;
  }
}

json text_result(const std::string& text) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})}, {"isError", false}};
}

json error_response(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json result_response(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

// Members in an order no sorted JSON type would keep.
constexpr const char* params_schema =
    R"({"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"number"},"mid":{"type":"boolean"}},"required":["zeta"]})";
constexpr const char* form_request =
    R"({"message":"Who are you?","requestedSchema":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"email":{"type":"string"}}}})";

std::vector<json> tool_list() {
  std::vector<std::string> names = {"echo", "crash", "slow",  "change_tools", "hang", "cancellations", "sample",
                                    "ping_client", "big", "env", "cwd", "state", "log", "close_stdout",
                                    "params", "form"};
  if (extra_tool) names.push_back("extra");
  std::vector<json> tools;
  for (auto& name : names) {
    json schema = {{"type", "object"}};
    if (name == "params") schema = json::parse(params_schema);
    tools.push_back({{"name", name}, {"description", "fake " + name}, {"inputSchema", schema}});
  }
  return tools;
}

void handle(const json& message);

// Sends a request to the client and waits for its response, handling other messages
// meanwhile (so a crash request still works while a sampling request is open).
json ask_client(const json& id, const std::string& method, json params) {
  json request = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) request["params"] = std::move(params);
  send(request);
  for (;;) {
    json message = read_message();
    if (!message.contains("method") && message.value("id", json()) == id) return message;
    handle(message);
  }
}

void call_tool(const json& id, const json& params) {
  const std::string name = params.value("name", "");
  const json arguments = params.value("arguments", json::object());
  if (name == "echo") {
    send(result_response(id, text_result(arguments.value("text", ""))));
  } else if (name == "crash") {
    log("crashing on purpose");
    std::_Exit(arguments.value("status", 1));
  } else if (name == "slow") {
    const int steps = arguments.value("steps", 3);
    json token = params.contains("_meta") ? params["_meta"].value("progressToken", json()) : json();
    if (!token.is_null()) {
      for (int i = 1; i <= steps; ++i) {
        send({{"jsonrpc", "2.0"},
              {"method", "notifications/progress"},
              {"params", {{"progressToken", token}, {"progress", i}, {"total", steps}, {"message", "step " + std::to_string(i)}}}});
      }
    }
    send(result_response(id, text_result("done after " + std::to_string(steps) + " steps")));
  } else if (name == "change_tools") {
    extra_tool = !extra_tool;
    send({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
    send(result_response(id, text_result(extra_tool ? "added extra" : "removed extra")));
  } else if (name == "hang") {
    log("hanging on request " + id.dump());
  } else if (name == "cancellations") {
    send(result_response(id, {{"content", json::array({{{"type", "text"}, {"text", cancellations.dump()}}})},
                              {"structuredContent", {{"cancelled", cancellations}}}}));
  } else if (name == "sample") {
    json answer = ask_client("sample-1", "sampling/createMessage",
                             {{"messages", json::array({{{"role", "user"},
                                                         {"content", {{"type", "text"}, {"text", "hello?"}}}}})},
                              {"maxTokens", 10}});
    send(result_response(id, text_result(answer.contains("result") ? answer["result"].dump()
                                                                   : "error: " + answer["error"].dump())));
  } else if (name == "ping_client") {
    json answer = ask_client("ping-1", "ping", json());
    send(result_response(id, text_result("pong " + answer.value("result", json("none")).dump())));
  } else if (name == "big") {
    send(result_response(id, text_result(std::string(arguments.value("size", 1000), 'x'))));
  } else if (name == "env") {
    const char* value = std::getenv(arguments.value("name", "").c_str());
    send(result_response(id, text_result(value ? value : "(unset)")));
  } else if (name == "cwd") {
    char buffer[4096];
    send(result_response(id, text_result(::getcwd(buffer, sizeof buffer) ? buffer : "?")));
  } else if (name == "state") {
    json state = {{"initialized", initialized},
                  {"requestsBeforeInitialized", requests_before_initialized},
                  {"protocolVersion", negotiated},
                  {"clientInfo", client_info},
                  {"clientCapabilities", client_capabilities}};
    send(result_response(id, {{"content", json::array({{{"type", "text"}, {"text", state.dump()}}})},
                              {"structuredContent", state}}));
  } else if (name == "log") {
    log(arguments.value("text", ""));
    send(result_response(id, text_result("logged")));
  } else if (name == "params") {
    send(result_response(id, text_result(params.dump())));
  } else if (name == "form") {
    json answer = ask_client("form-1", "elicitation/create", json::parse(form_request));
    send(result_response(id, text_result(answer.contains("result") ? answer["result"].dump()
                                                                   : "error: " + answer["error"].dump())));
  } else if (name == "close_stdout") {
    send(result_response(id, text_result("closing stdout")));
    std::fclose(stdout);
    stdout_closed = true;
    log("stdout closed");
  } else {
    send(error_response(id, -32602, "Unknown tool: " + name));
  }
}

void handle(const json& message) {
  const std::string method = message.value("method", "");
  if (!message.contains("id")) {  // notification (or a stray response)
    if (method == "notifications/initialized") initialized = true;
    if (method == "notifications/cancelled") cancellations.push_back(message["params"].value("requestId", json()));
    return;
  }
  const json& id = message["id"];
  if (method.empty()) return;  // a response nobody waits for
  if (method == "initialize") {
    if (options.init_error) {
      json error = error_response(id, -32602, "Unsupported protocol version");
      error["error"]["data"] = {{"supported", options.versions}, {"requested", message["params"]["protocolVersion"]}};
      send(error);
      return;
    }
    const std::string requested = message["params"].value("protocolVersion", "");
    negotiated = options.versions.front();
    for (auto& v : options.versions)
      if (v == requested) negotiated = v;
    client_info = message["params"].value("clientInfo", json());
    client_capabilities = message["params"].value("capabilities", json());
    json capabilities = json::object();
    if (options.tools) capabilities["tools"] = {{"listChanged", true}};
    send(result_response(id, {{"protocolVersion", negotiated},
                              {"capabilities", capabilities},
                              {"serverInfo", {{"name", "fake-mcp-server"}, {"version", "1.2.3"}}},
                              {"instructions", "for tests only"}}));
    return;
  }
  if (method == "ping") {
    send(result_response(id, json::object()));
    return;
  }
  if (!initialized) ++requests_before_initialized;
  if (method == "tools/list") {
    const auto tools = tool_list();
    std::size_t page = 0;
    const json params = message.value("params", json::object());
    if (auto cursor = params.value("cursor", std::string()); !cursor.empty()) {
      if (cursor.rfind("page-", 0) != 0) {
        send(error_response(id, -32602, "Invalid cursor"));
        return;
      }
      page = std::stoul(cursor.substr(5));
    }
    json result = {{"tools", json::array()}};
    for (std::size_t i = page * options.page_size; i < tools.size() && i < (page + 1) * options.page_size; ++i)
      result["tools"].push_back(tools[i]);
    if ((page + 1) * options.page_size < tools.size()) result["nextCursor"] = "page-" + std::to_string(page + 1);
    send(result_response(id, result));
    return;
  }
  if (method == "tools/call") {
    call_tool(id, message.value("params", json::object()));
    return;
  }
  send(error_response(id, -32601, "Method not found"));
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--versions=", 0) == 0) {
      options.versions.clear();
      std::string list = arg.substr(11);
      std::size_t start = 0;
      while (start <= list.size()) {
        auto comma = list.find(',', start);
        options.versions.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (arg == "--init-error") {
      options.init_error = true;
    } else if (arg.rfind("--page-size=", 0) == 0) {
      options.page_size = std::max(1ul, std::stoul(arg.substr(12)));
    } else if (arg == "--no-tools") {
      options.tools = false;
    } else if (arg == "--noise") {
      options.noise = true;
    } else if (arg == "--ignore-stdin-eof") {
      options.ignore_stdin_eof = true;
    } else if (arg == "--ignore-sigterm") {
      options.ignore_sigterm = true;
    } else {
      std::fprintf(stderr, "fake_mcp_server: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (options.ignore_sigterm) ::signal(SIGTERM, SIG_IGN);
  log("starting (pid " + std::to_string(::getpid()) + ")");
  if (options.noise) {
    std::fputs("this is not JSON-RPC\n", stdout);
    std::fflush(stdout);
  }
  for (;;) handle(read_message());
}
