// Running the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
// tests/interop/package.json) against a Streamable HTTP endpoint, reading its results, and
// comparing two runs check by check.
//
// How the suite reports (version 0.1.16, `conformance server --help`):
//   conformance server --url <url> --suite active|pending|all -o <dir>
// runs each server scenario in turn as an MCP client (the SDK's Client over Streamable
// HTTP, declaring sampling and elicitation) and writes <dir>/server-<scenario>-<timestamp>/
// checks.json: an array of {id, name, description, status, errorMessage?, details?} with
// status SUCCESS, FAILURE, WARNING, SKIPPED or INFO (INFO entries log the raw HTTP exchange).
// It exits 1 when any check FAILED, else 0. "active" is every scenario but the pending
// ones (json-schema-2020-12 and server-sse-polling in 0.1.16). Each scenario opens its own
// MCP session and never ends it with DELETE (about 33 sessions per `--suite all` run).
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import http from "node:http";
import path from "node:path";

import { interopDir, node22, run } from "../e2e/helpers.mjs";

export const conformanceCli = path.join(interopDir, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
if (!existsSync(conformanceCli))
  throw new Error(`${conformanceCli} is missing: install the test packages with scripts/install-deps.sh --test`);

export const suites = ["active", "pending"];

/** The server scenarios of a suite ("active", "pending" or "all"), as the suite lists them. */
export async function scenarioNames() {
  const { code, stdout, stderr } = await run(node22, [conformanceCli, "list", "--server"]);
  if (code !== 0) throw new Error(`conformance list --server failed (${code}): ${stderr}`);
  return [...stdout.matchAll(/^\s*- (\S+)/gm)].map((match) => match[1]);
}

/**
 * Runs one suite against `url` with results in `dir` (created). Returns {suite, code,
 * output, scenarios: Map<scenario, checks[]>}. Never throws for failed checks; throws when
 * the suite did not run (no results at all, or killed after `timeout` ms).
 */
export async function runSuite(url, suite, dir, timeout = 180000) {
  mkdirSync(dir, { recursive: true });
  const { code, stdout, stderr } = await run(
    node22, [conformanceCli, "server", "--url", url, "--suite", suite, "-o", dir], timeout);
  const output = `${stdout}${stderr}`;
  const scenarios = new Map();
  for (const entry of readdirSync(dir)) {
    // server-<scenario>-<ISO timestamp with - for : and .>
    const match = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(entry);
    const file = path.join(dir, entry, "checks.json");
    if (match && existsSync(file)) scenarios.set(match[1], JSON.parse(readFileSync(file, "utf8")));
  }
  if (typeof code !== "number" || scenarios.size === 0)
    throw new Error(`the conformance suite (${suite}) against ${url} did not run (exit ${code}):\n${output}`);
  // A scenario that threw is reported on stdout only ("Failed to run scenario"): record it.
  for (const match of output.matchAll(/Failed to run scenario (\S+):/g))
    if (!scenarios.has(match[1]))
      scenarios.set(match[1], [{ id: match[1], status: "FAILURE", errorMessage: "the scenario threw (see the output)" }]);
  return { suite, code, output, scenarios };
}

/** Runs the active and the pending suite: [{suite, code, output, scenarios}, ...]. */
export async function runSuites(url, dir) {
  const runs = [];
  for (const suite of suites) runs.push(await runSuite(url, suite, path.join(dir, suite)));
  return runs;
}

// INFO checks that only log the raw HTTP exchange of a scenario (how many there are
// depends on how the server chose to answer: SSE or JSON, how many events).
const exchangeLog = new Set(["outgoing-request", "incoming-response", "incoming-sse-event", "stream-closed"]);

/**
 * Every check but the exchange log, keyed "<suite>/<scenario>/<check id>" (with "#2",
 * "#3" for a check id that repeats in a scenario): Map<key, {status, message}>.
 */
export function verdicts(runs) {
  const result = new Map();
  for (const { suite, scenarios } of runs) {
    for (const [scenario, checks] of [...scenarios].sort(([a], [b]) => a.localeCompare(b))) {
      const seen = new Map();
      for (const check of checks) {
        if (check.status === "INFO" && exchangeLog.has(check.id)) continue;
        const count = (seen.get(check.id) ?? 0) + 1;
        seen.set(check.id, count);
        const key = `${suite}/${scenario}/${check.id}${count > 1 ? `#${count}` : ""}`;
        result.set(key, { status: check.status, message: check.errorMessage ?? "" });
      }
    }
  }
  return result;
}

// Details that differ between any two endpoints by nature: where the suite connected
// (URLs, Host and Origin headers with their ports), whole HTTP bodies of the
// DNS-rebinding probes (session-specific), and whether POSTs were answered with SSE or
// JSON (transportChoiceChecks).
const volatileDetails = new Set(["serverUrl", "url", "hostHeader", "originHeader", "body", "headers",
                                 "contentTypes", "numSseStreams"]);

/**
 * What each check reports beyond its status (`details`: the results the suite got, such
 * as a tool's content or an elicitation's schema), as JSON text in member order, keyed
 * like verdicts(); exchange logs, SSE checks and volatile members left out. Equal texts
 * mean the server's answers reached the suite unchanged, member order included.
 */
export function detailTexts(runs) {
  const result = new Map();
  for (const { suite, scenarios } of runs) {
    for (const [scenario, checks] of scenarios) {
      const seen = new Map();
      for (const check of checks) {
        if (exchangeLog.has(check.id) || check.details === undefined) continue;
        const count = (seen.get(check.id) ?? 0) + 1;
        seen.set(check.id, count);
        const key = `${suite}/${scenario}/${check.id}${count > 1 ? `#${count}` : ""}`;
        if (isTransportChoice(key)) continue;
        result.set(key, JSON.stringify(check.details, (name, value) => (volatileDetails.has(name) ? undefined : value)));
      }
    }
  }
  return result;
}

/** Counts of each status: {SUCCESS: n, FAILURE: n, ...}. */
export function tally(verdictMap) {
  const counts = {};
  for (const { status } of verdictMap.values()) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

// Checks about SSE streams that the suite itself calls not applicable (INFO, or leaves out)
// when a server answers a POST with one application/json response instead of an SSE stream:
// the transport lets the server choose ("MUST either return Content-Type:
// text/event-stream ... or Content-Type: application/json"). The SDK's server always
// streams; p2pmcp's gateway answers JSON unless it has a message to send first. So for these
// checks a difference counts only when one side FAILED; every one is still reported.
export const transportChoiceChecks = new Set([
  "server-sse-multiple-streams/server-sse-streams-functional",
  "server-sse-polling/server-sse-content-type",
  "server-sse-polling/server-sse-priming-event",
  "server-sse-polling/server-sse-retry-field",
  "server-sse-polling/server-sse-disconnect-resume",
]);

const isTransportChoice = (key) => transportChoiceChecks.has(key.split("/").slice(1).join("/").replace(/#\d+$/, ""));

/**
 * Every check whose status differs between two runs (or that only one has):
 * [{key, expected, actual, message, transportChoice}], message = the other run's error
 * message; transportChoice: a check of transportChoiceChecks where neither side FAILED
 * (not a real difference, see above).
 */
export function differences(expected, actual) {
  const keys = new Set([...expected.keys(), ...actual.keys()]);
  const found = [];
  for (const key of [...keys].sort()) {
    const a = expected.get(key);
    const b = actual.get(key);
    if (a?.status === b?.status) continue;
    const transportChoice = isTransportChoice(key) && a?.status !== "FAILURE" && b?.status !== "FAILURE";
    found.push({ key, expected: a?.status ?? "(absent)", actual: b?.status ?? "(absent)", message: b?.message ?? "",
                 transportChoice });
  }
  return found;
}

/** A readable table of differences, one line each. */
export function describeDifferences(found, expectedLabel, actualLabel) {
  return found
    .map(({ key, expected, actual, message }) =>
      `  ${key}: ${expectedLabel} ${expected}, ${actualLabel} ${actual}${message ? ` — ${message}` : ""}`)
    .join("\n");
}

/** A table of every check: "<key> <status> <message>" per line. */
export function describeVerdicts(verdictMap) {
  return [...verdictMap].map(([key, { status, message }]) => `  ${key} ${status}${message ? ` — ${message}` : ""}`)
    .join("\n");
}

/**
 * A Streamable HTTP proxy on 127.0.0.1 (port 0) in front of a gateway endpoint. It keeps
 * the Mcp-Session-Id of every session started through it, so that `endSessions()` can
 * end them with DELETE after a run of the suite (which never does): runs against one node
 * then do not add up to the gateway's session limit. With `prefix` (for the aggregated
 * endpoint) it also maps one server's own names to the names the gateway gives them — so
 * the suite, which asks for fixed names (`test_simple_text`, `test://static-text`), finds
 * them there:
 *   client -> gateway: tools/call and prompts/get `name`, completion/complete `ref.name`
 *     get `<prefix>_`; resources/read|subscribe|unsubscribe `uri` and a ref/resource `uri`
 *     get `p2pmcp://<prefix>/`;
 *   gateway -> client: in tools/list, prompts/list, resources/list and
 *     resources/templates/list results the server's items lose those prefixes (others are
 *     left out), and so do `uri`s of notifications/resources/updated.
 * Nothing else is changed (result contents, embedded resources, headers but Host/Origin
 * pointing at the proxy, which are pointed at the gateway). SSE streams are rewritten
 * event by event as they arrive. Returns {url, endSessions(), close()}.
 */
export async function startProxy(gatewayUrl, prefix) {
  const target = new URL(gatewayUrl);
  const namePrefix = `${prefix}_`;
  const uriPrefix = `p2pmcp://${prefix}/`;
  const sessions = new Set();
  let proxyHost;

  const toGateway = (message) => {
    const params = message?.params;
    if (prefix === undefined) return message;
    if (!params || typeof message.method !== "string") return message;
    if ((message.method === "tools/call" || message.method === "prompts/get") && typeof params.name === "string")
      params.name = namePrefix + params.name;
    if (["resources/read", "resources/subscribe", "resources/unsubscribe"].includes(message.method) &&
        typeof params.uri === "string")
      params.uri = uriPrefix + params.uri;
    if (message.method === "completion/complete" && params.ref) {
      if (params.ref.type === "ref/prompt" && typeof params.ref.name === "string") params.ref.name = namePrefix + params.ref.name;
      if (params.ref.type === "ref/resource" && typeof params.ref.uri === "string") params.ref.uri = uriPrefix + params.ref.uri;
    }
    return message;
  };

  const strip = (items, field, start) =>
    items.filter((item) => typeof item[field] === "string" && item[field].startsWith(start))
      .map((item) => ({ ...item, [field]: item[field].slice(start.length) }));

  const toClient = (message) => {
    if (prefix === undefined) return message;
    const result = message?.result;
    if (result && typeof result === "object") {
      if (Array.isArray(result.tools)) result.tools = strip(result.tools, "name", namePrefix);
      if (Array.isArray(result.prompts)) result.prompts = strip(result.prompts, "name", namePrefix);
      if (Array.isArray(result.resources)) result.resources = strip(result.resources, "uri", uriPrefix);
      if (Array.isArray(result.resourceTemplates))
        result.resourceTemplates = strip(result.resourceTemplates, "uriTemplate", uriPrefix);
    }
    if (message?.method === "notifications/resources/updated" && message.params?.uri?.startsWith(uriPrefix))
      message.params.uri = message.params.uri.slice(uriPrefix.length);
    return message;
  };

  const mapJson = (body, map) => {
    let value;
    try {
      value = JSON.parse(body);
    } catch {
      return body; // not JSON: pass through
    }
    return JSON.stringify(Array.isArray(value) ? value.map(map) : map(value));
  };

  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      let body = Buffer.concat(chunks).toString("utf8");
      if (body && (request.headers["content-type"] ?? "").includes("application/json")) body = mapJson(body, toGateway);
      const headers = { ...request.headers };
      delete headers["content-length"];
      if (headers.host === proxyHost) headers.host = target.host;
      if (headers.origin === `http://${proxyHost}`) headers.origin = `http://${target.host}`;
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: request.method,
          headers: body ? { ...headers, "content-length": Buffer.byteLength(body) } : headers },
        (reply) => forward(reply, response));
      upstream.on("error", (error) => {
        if (!response.headersSent) response.writeHead(502, { "content-type": "text/plain" });
        response.end(`proxy: the gateway at ${gatewayUrl} failed: ${error.message}`);
      });
      response.on("close", () => upstream.destroy());
      upstream.end(body || undefined);
    });
  });

  const forward = (reply, response) => {
    if (reply.headers["mcp-session-id"]) sessions.add(reply.headers["mcp-session-id"]);
    const type = reply.headers["content-type"] ?? "";
    const headers = { ...reply.headers };
    if (type.includes("text/event-stream")) {
      delete headers["content-length"];
      response.writeHead(reply.statusCode, headers);
      response.flushHeaders();
      let pending = "";
      reply.setEncoding("utf8");
      reply.on("data", (chunk) => {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop();
        response.write(lines.map((line) => (line.startsWith("data:")
          ? `data: ${mapJson(line.slice(5).trimStart(), toClient)}` : line)).join("\n") + "\n");
      });
      reply.on("end", () => response.end(pending));
      reply.on("error", () => response.destroy());
      return;
    }
    const chunks = [];
    reply.on("data", (chunk) => chunks.push(chunk));
    reply.on("end", () => {
      let body = Buffer.concat(chunks).toString("utf8");
      if (type.includes("application/json")) body = mapJson(body, toClient);
      headers["content-length"] = Buffer.byteLength(body);
      response.writeHead(reply.statusCode, headers);
      response.end(body);
    });
  };

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  proxyHost = `127.0.0.1:${server.address().port}`;
  const endSession = (id) => new Promise((resolve) => {
    const request = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "DELETE",
        headers: { host: target.host, "mcp-session-id": id } },
      (reply) => reply.resume().on("end", resolve));
    request.on("error", resolve); // gone already: nothing to end
    request.end();
  });
  return {
    url: `http://${proxyHost}${target.pathname}`,
    /** Ends (DELETE) every session started through the proxy so far; resolves when done. */
    endSessions: async () => {
      const ids = [...sessions];
      sessions.clear();
      await Promise.all(ids.map(endSession));
      return ids.length;
    },
    close: () => new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    }),
  };
}
