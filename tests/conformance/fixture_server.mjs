// The conformance fixture: an MCP server written with the TypeScript SDK that implements
// every tool, prompt and resource the official conformance suite
// (@modelcontextprotocol/conformance 0.1.16, server scenarios) asks for, as each scenario's
// description says (`conformance list --server`; the descriptions are printed when a check
// fails). Written for p2pmcp's tests, not copied from the suite's example server.
//
//   node fixture_server.mjs stdio   serves one session on stdin/stdout (how a p2pmcp node hosts it)
//   node fixture_server.mjs http    Streamable HTTP on 127.0.0.1, port 0; prints one line
//                                   `{"url":"http://127.0.0.1:<port>/mcp"}` on stdout when ready
//
// What it offers (scenario -> what is implemented):
//   server-initialize, ping                 serverInfo p2pmcp-conformance-fixture 1.0.0, instructions
//   logging-set-level                       capability logging; the level filters tool logs per session
//   completion-complete                     completions for test_prompt_with_arguments (arg1, arg2)
//   tools-call-simple-text                  test_simple_text
//   tools-call-image / -audio               test_image_content (1x1 PNG), test_audio_content (WAV)
//   tools-call-embedded-resource            test_embedded_resource (test://embedded-resource)
//   tools-call-mixed-content                test_multiple_content_types (text, image, resource)
//   tools-call-with-logging                 test_tool_with_logging: 3 info logs, 50 ms apart, on the call
//   tools-call-error                        test_error_handling: isError result
//   tools-call-with-progress                test_tool_with_progress: 0, 50, 100 of 100 when a token is given
//   tools-call-sampling                     test_sampling {prompt}: sampling/createMessage
//   tools-call-elicitation                  test_elicitation {message}: elicitation/create (username, email)
//   elicitation-sep1034-defaults            test_elicitation_sep1034_defaults
//   elicitation-sep1330-enums               test_elicitation_sep1330_enums
//   json-schema-2020-12 (pending)           json_schema_2020_12_tool with $schema, $defs, additionalProperties
//   server-sse-polling (pending)            test_reconnection: closes the POST stream mid-call (HTTP only,
//                                           when the client speaks 2025-11-25; needs the event store)
//   server-sse-multiple-streams             nothing special (tools/list on 3 concurrent POSTs)
//   resources-list / -read-text / -binary   test://static-text, test://static-binary
//   resources-templates-read                template test://template/{id}/data
//   resources-subscribe / -unsubscribe      test://watched-resource (subscriptions kept per session)
//   prompts-list / -get-*                   test_simple_prompt, test_prompt_with_arguments {arg1, arg2},
//                                           test_prompt_with_embedded_resource {resourceUri},
//                                           test_prompt_with_image
//   dns-rebinding-protection                the SDK's Express app on 127.0.0.1 checks the Host header
//
// Beyond the suite, for p2pmcp's isolation test (tests/e2e/mcp_isolation.test.mjs):
//   isolation_log {tag}                     three info logs "<tag> #1..3" on the call (before its result)
//   isolation_update {uris}                 notifications/resources/updated on the call for each of `uris`
//                                           this session subscribed to (any URI may be subscribed);
//                                           returns the URIs it notified
//
// The SDK is imported by path from tests/interop/node_modules, like tests/e2e/helpers.mjs.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = path.resolve(here, "../interop/node_modules/@modelcontextprotocol/sdk/dist/esm");
const sdk = (subpath) => import(pathToFileURL(path.join(sdkDir, subpath)).href);

const { Server } = await sdk("server/index.js");
const {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} = await sdk("types.js");

export const serverInfo = { name: "p2pmcp-conformance-fixture", version: "1.0.0" };
export const instructions =
  "Conformance fixture for p2pmcp's tests: implements what the MCP conformance suite's server scenarios ask for.";

// A 1x1 red PNG and a WAV of 8 silent 8-bit samples at 8 kHz.
const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
const wav = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value) => ({ type: "text", text: value });
const noArguments = { type: "object", properties: {} };

const tools = [
  { name: "test_simple_text", description: "Returns a simple text response", inputSchema: noArguments },
  { name: "test_image_content", description: "Returns a 1x1 PNG image", inputSchema: noArguments },
  { name: "test_audio_content", description: "Returns a short WAV audio clip", inputSchema: noArguments },
  { name: "test_embedded_resource", description: "Returns an embedded text resource", inputSchema: noArguments },
  { name: "test_multiple_content_types", description: "Returns text, an image and an embedded resource",
    inputSchema: noArguments },
  { name: "test_tool_with_logging", description: "Sends three info log messages while it runs",
    inputSchema: noArguments },
  { name: "test_error_handling", description: "Always fails with isError", inputSchema: noArguments },
  { name: "test_tool_with_progress", description: "Reports progress 0, 50 and 100 of 100", inputSchema: noArguments },
  { name: "test_sampling", description: "Asks the client's LLM to answer a prompt (sampling/createMessage)",
    inputSchema: { type: "object", properties: { prompt: { type: "string", description: "The prompt to send to the LLM" } },
                   required: ["prompt"] } },
  { name: "test_elicitation", description: "Asks the user for a username and an email (elicitation/create)",
    inputSchema: { type: "object", properties: { message: { type: "string", description: "The message to show the user" } },
                   required: ["message"] } },
  { name: "test_elicitation_sep1034_defaults", description: "Elicitation with a default for every primitive type",
    inputSchema: noArguments },
  { name: "test_elicitation_sep1330_enums", description: "Elicitation with the five enum schema variants",
    inputSchema: noArguments },
  { name: "json_schema_2020_12_tool", description: "Tool with JSON Schema 2020-12 features",
    inputSchema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      $defs: { address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" } } } },
      properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
      additionalProperties: false,
    } },
  { name: "test_reconnection", description: "Closes its SSE stream mid-call; the result arrives after the client reconnects",
    inputSchema: noArguments },
  { name: "isolation_log", description: "Logs '<tag> #1', '#2', '#3' (info) while it runs",
    inputSchema: { type: "object", properties: { tag: { type: "string" } }, required: ["tag"] } },
  { name: "isolation_update", description: "Sends resources/updated for each given URI this session subscribed to",
    inputSchema: { type: "object", properties: { uris: { type: "array", items: { type: "string" } } },
                   required: ["uris"] } },
];

const resources = [
  { uri: "test://static-text", name: "static-text", description: "A static text resource", mimeType: "text/plain" },
  { uri: "test://static-binary", name: "static-binary", description: "A static binary resource (PNG)", mimeType: "image/png" },
  { uri: "test://watched-resource", name: "watched-resource", description: "A resource clients can subscribe to",
    mimeType: "text/plain" },
];

const resourceTemplates = [
  { uriTemplate: "test://template/{id}/data", name: "template-data", description: "Data for an id, as JSON",
    mimeType: "application/json" },
];

const prompts = [
  { name: "test_simple_prompt", description: "A prompt without arguments" },
  { name: "test_prompt_with_arguments", description: "A prompt with two required arguments",
    arguments: [{ name: "arg1", description: "First test argument", required: true },
                { name: "arg2", description: "Second test argument", required: true }] },
  { name: "test_prompt_with_embedded_resource", description: "A prompt that embeds a resource",
    arguments: [{ name: "resourceUri", description: "URI of the resource to embed", required: true }] },
  { name: "test_prompt_with_image", description: "A prompt with an image" },
];

const completions = { arg1: ["paris", "park", "party"], arg2: ["world", "wonder", "work"] };

const sep1034Schema = {
  type: "object",
  properties: {
    name: { type: "string", description: "Your name", default: "John Doe" },
    age: { type: "integer", description: "Your age", default: 30 },
    score: { type: "number", description: "Your score", default: 95.5 },
    status: { type: "string", description: "Your status", enum: ["active", "inactive", "pending"], default: "active" },
    verified: { type: "boolean", description: "Whether you are verified", default: true },
  },
};

const sep1330Schema = {
  type: "object",
  properties: {
    untitledSingle: { type: "string", enum: ["option1", "option2", "option3"] },
    titledSingle: { type: "string", oneOf: [{ const: "value1", title: "First Option" },
                                            { const: "value2", title: "Second Option" },
                                            { const: "value3", title: "Third Option" }] },
    legacyEnum: { type: "string", enum: ["opt1", "opt2", "opt3"],
                  enumNames: ["Option One", "Option Two", "Option Three"] },
    untitledMulti: { type: "array", items: { type: "string", enum: ["option1", "option2", "option3"] } },
    titledMulti: { type: "array", items: { anyOf: [{ const: "value1", title: "First Choice" },
                                                   { const: "value2", title: "Second Choice" },
                                                   { const: "value3", title: "Third Choice" }] } },
  },
};

/** A new MCP server (one per session: the SDK's Server serves one transport). */
export function createServer() {
  const server = new Server(serverInfo, {
    instructions,
    capabilities: {
      tools: {},
      resources: { subscribe: true },
      prompts: {},
      logging: {},
      completions: {},
    },
  });
  const subscriptions = new Set();

  const log = async (extra, data) => {
    if (server.isMessageIgnored("info", extra.sessionId)) return;
    await extra.sendNotification({ method: "notifications/message", params: { level: "info", logger: "fixture", data } });
  };

  const requireClientCapability = (capability) => {
    if (!server.getClientCapabilities()?.[capability])
      throw new McpError(ErrorCode.InvalidRequest, `the client did not declare the ${capability} capability`);
  };

  const elicit = (extra, params) => {
    requireClientCapability("elicitation");
    return extra.sendRequest({ method: "elicitation/create", params }, ElicitResultSchema);
  };

  const elicitationText = (result) =>
    `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`;

  const handlers = {
    test_simple_text: async () => ({ content: [text("This is a simple text response for testing.")] }),
    test_image_content: async () => ({ content: [{ type: "image", data: png, mimeType: "image/png" }] }),
    test_audio_content: async () => ({ content: [{ type: "audio", data: wav, mimeType: "audio/wav" }] }),
    test_embedded_resource: async () => ({
      content: [{ type: "resource", resource: { uri: "test://embedded-resource", mimeType: "text/plain",
                                                text: "This is an embedded resource content." } }],
    }),
    test_multiple_content_types: async () => ({
      content: [
        text("Multiple content types test:"),
        { type: "image", data: png, mimeType: "image/png" },
        { type: "resource", resource: { uri: "test://mixed-content-resource", mimeType: "application/json",
                                        text: JSON.stringify({ test: "data", value: 123 }) } },
      ],
    }),
    test_tool_with_logging: async (_args, extra) => {
      await log(extra, "Tool execution started");
      await delay(50);
      await log(extra, "Tool processing data");
      await delay(50);
      await log(extra, "Tool execution completed");
      return { content: [text("Tool with logging executed successfully")] };
    },
    test_error_handling: async () => ({
      isError: true,
      content: [text("This tool intentionally returns an error for testing")],
    }),
    test_tool_with_progress: async (_args, extra) => {
      const progressToken = extra._meta?.progressToken;
      for (const [index, progress] of [0, 50, 100].entries()) {
        if (index > 0) await delay(50);
        if (progressToken !== undefined)
          await extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress, total: 100 } });
      }
      return { content: [text(`Tool with progress executed successfully (token: ${JSON.stringify(progressToken ?? null)})`)] };
    },
    test_sampling: async (args, extra) => {
      requireClientCapability("sampling");
      const result = await extra.sendRequest(
        { method: "sampling/createMessage",
          params: { messages: [{ role: "user", content: text(String(args.prompt ?? "")) }], maxTokens: 100 } },
        CreateMessageResultSchema);
      const answer = result.content?.type === "text" ? result.content.text : JSON.stringify(result.content);
      return { content: [text(`LLM response: ${answer}`)] };
    },
    test_elicitation: async (args, extra) => {
      const result = await elicit(extra, {
        message: String(args.message ?? ""),
        requestedSchema: {
          type: "object",
          properties: { username: { type: "string", description: "User's response" },
                        email: { type: "string", description: "User's email address" } },
          required: ["username", "email"],
        },
      });
      return { content: [text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`)] };
    },
    test_elicitation_sep1034_defaults: async (_args, extra) => {
      const result = await elicit(extra, { message: "Please review and update the form fields with defaults",
                                           requestedSchema: sep1034Schema });
      return { content: [text(elicitationText(result))] };
    },
    test_elicitation_sep1330_enums: async (_args, extra) => {
      const result = await elicit(extra, { message: "Please choose from every kind of enum",
                                           requestedSchema: sep1330Schema });
      return { content: [text(elicitationText(result))] };
    },
    json_schema_2020_12_tool: async (args) => ({ content: [text(`Received: ${JSON.stringify(args)}`)] }),
    isolation_log: async (args, extra) => {
      for (let i = 1; i <= 3; ++i) await log(extra, `${String(args.tag ?? "")} #${i}`);
      return { content: [text(`logged ${String(args.tag ?? "")}`)] };
    },
    isolation_update: async (args, extra) => {
      const notified = (Array.isArray(args.uris) ? args.uris : []).map(String).filter((uri) => subscriptions.has(uri));
      for (const uri of notified)
        await extra.sendNotification({ method: "notifications/resources/updated", params: { uri } });
      return { content: [text(JSON.stringify(notified))] };
    },
    test_reconnection: async (_args, extra) => {
      // Over HTTP with a 2025-11-25 client the SDK offers closeSSEStream: the client then
      // resumes with GET + Last-Event-ID and gets the result from the event store.
      await delay(50);
      extra.closeSSEStream?.();
      await delay(200);
      return { content: [text("Reconnection test completed successfully")] };
    },
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const handler = handlers[request.params.name];
    if (!handler) throw new McpError(ErrorCode.InvalidParams, `unknown tool: ${request.params.name}`);
    return handler(request.params.arguments ?? {}, { ...extra, _meta: request.params._meta });
  });

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    if (uri === "test://static-text")
      return { contents: [{ uri, mimeType: "text/plain", text: "This is the content of the static text resource." }] };
    if (uri === "test://static-binary") return { contents: [{ uri, mimeType: "image/png", blob: png }] };
    if (uri === "test://watched-resource")
      return { contents: [{ uri, mimeType: "text/plain", text: "The content of the watched resource." }] };
    const match = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
    if (match) {
      const id = decodeURIComponent(match[1]);
      return { contents: [{ uri, mimeType: "application/json",
                            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] };
    }
    throw new McpError(-32002, `resource not found: ${uri}`, { uri });
  });
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts }));
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    const args = request.params.arguments ?? {};
    switch (request.params.name) {
      case "test_simple_prompt":
        return { messages: [{ role: "user", content: text("This is a simple prompt for testing.") }] };
      case "test_prompt_with_arguments":
        return { messages: [{ role: "user",
                              content: text(`Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'`) }] };
      case "test_prompt_with_embedded_resource":
        return { messages: [
          { role: "user", content: { type: "resource", resource: { uri: String(args.resourceUri ?? ""), mimeType: "text/plain",
                                                                   text: "Embedded resource content for testing." } } },
          { role: "user", content: text("Please process the embedded resource above.") },
        ] };
      case "test_prompt_with_image":
        return { messages: [
          { role: "user", content: { type: "image", data: png, mimeType: "image/png" } },
          { role: "user", content: text("Please analyze the image above.") },
        ] };
      default:
        throw new McpError(ErrorCode.InvalidParams, `unknown prompt: ${request.params.name}`);
    }
  });

  server.setRequestHandler(CompleteRequestSchema, async (request) => {
    const { ref, argument } = request.params;
    const candidates = ref.type === "ref/prompt" && ref.name === "test_prompt_with_arguments"
      ? completions[argument.name] ?? [] : [];
    const values = candidates.filter((value) => value.startsWith(argument.value));
    return { completion: { values, total: values.length, hasMore: false } };
  });

  return server;
}

/**
 * Resumability for one HTTP session: every SSE event the SDK sends is kept (the last
 * `limit`), so a client that reconnects with Last-Event-ID gets what it missed.
 */
class MemoryEventStore {
  #events = [];
  #next = 0;

  constructor(limit = 1000) {
    this.limit = limit;
  }

  async storeEvent(streamId, message) {
    const id = `${streamId}.${++this.#next}`;
    this.#events.push({ id, streamId, message });
    if (this.#events.length > this.limit) this.#events.shift();
    return id;
  }

  async getStreamIdForEventId(eventId) {
    return this.#events.find((event) => event.id === eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId, { send }) {
    const start = this.#events.findIndex((event) => event.id === lastEventId);
    if (start < 0) throw new Error(`unknown event ID ${lastEventId}`);
    const { streamId } = this.#events[start];
    for (const event of this.#events.slice(start + 1))
      if (event.streamId === streamId) await send(event.id, event.message);
    return streamId;
  }
}

async function serveStdio() {
  const { StdioServerTransport } = await sdk("server/stdio.js");
  await createServer().connect(new StdioServerTransport());
}

async function serveHttp() {
  const { createMcpExpressApp } = await sdk("server/express.js");
  const { StreamableHTTPServerTransport } = await sdk("server/streamableHttp.js");
  const { isInitializeRequest } = await sdk("types.js");

  const app = createMcpExpressApp(); // 127.0.0.1, with Host header validation (DNS rebinding)
  const sessions = new Map(); // session ID -> transport

  const jsonRpcError = (res, status, message) =>
    res.status(status).json({ jsonrpc: "2.0", error: { code: -32000, message }, id: null });

  app.post("/mcp", async (req, res) => {
    const sessionId = req.headers["mcp-session-id"];
    let transport = sessionId ? sessions.get(sessionId) : undefined;
    if (!transport) {
      if (sessionId) return jsonRpcError(res, 404, `unknown session ${sessionId}: initialize a new one`);
      if (!isInitializeRequest(req.body)) return jsonRpcError(res, 400, "no session: send initialize first");
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: new MemoryEventStore(),
        retryInterval: 500,
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await createServer().connect(transport);
    }
    await transport.handleRequest(req, res, req.body);
  });

  const bySession = async (req, res) => {
    const sessionId = req.headers["mcp-session-id"];
    const transport = sessionId ? sessions.get(sessionId) : undefined;
    if (!transport) return jsonRpcError(res, sessionId ? 404 : 400, `unknown or missing session ID: ${sessionId ?? "none"}`);
    await transport.handleRequest(req, res);
  };
  app.get("/mcp", bySession);
  app.delete("/mcp", bySession);

  const listener = app.listen(0, "127.0.0.1", () => {
    const { port } = listener.address();
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/mcp` })}\n`);
  });
  const stop = () => {
    for (const transport of sessions.values()) transport.close().catch(() => {});
    listener.close(() => process.exit(0));
    listener.closeAllConnections?.();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const mode = process.argv[2];
  if (mode === "stdio") await serveStdio();
  else if (mode === "http") await serveHttp();
  else {
    process.stderr.write("usage: node fixture_server.mjs stdio|http\n");
    process.exit(2);
  }
}
