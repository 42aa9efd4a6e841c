// The official MCP conformance suite against p2pmcp (issue 8, "Done when", second and fifth
// bullets): the conformance fixture (fixture_server.mjs, the TypeScript SDK) is
//   (a) run alone over Streamable HTTP — the baseline, what the server itself passes;
//   (b) hosted over stdio on node A and reached through node B's aggregated gateway
//       (`/mcp`), with a proxy that maps the suite's fixed names to the gateway's
//       (`<alias>_conformance_<tool>`, `p2pmcp://<alias>_conformance/<uri>`);
//   (c) reached through node B's single-server endpoint for it (`/mcp/<alias>_conformance`),
//       which must pass exactly the checks (a) passes, and show the fixture's own
//       serverInfo, instructions, capabilities and names (also through `p2pmcp stdio
//       --server`);
//   (d) the details of (c)'s checks (tool results, schemas, progress) equal (a)'s, member
//       order included;
//   (e) five runs in a row against (c) without restarting anything (the suite never ends
//       its sessions: the gateway must close the least recently used idle ones).
// After (b) and (c) the test ends the sessions the suite left open (it never sends
// DELETE), so that they do not add up to the gateway's limit; (e) does not.
// Both suites are run, active and pending; results are compared check by check (the INFO
// checks that log the raw HTTP exchange are left out).
//
// Run by CTest as `mcp_conformance` (label interop) with the Node.js 22 from tests/interop:
//   P2PMCP_BIN=<p2pmcp> node --test-reporter=spec tests/conformance/conformance.test.mjs
// (tests/conformance/README.md). CONFORMANCE_REPORT=<file> writes every verdict there.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  Client,
  StdioClientTransport,
  TestRun,
  allPrompts,
  allResources,
  allTools,
  connectHttp,
  node22,
  requireEnv,
  retryUntil,
  waitForGatewayTools,
  withDeadline,
} from "../e2e/helpers.mjs";
import {
  describeDifferences,
  describeVerdicts,
  detailTexts,
  differences,
  runSuites,
  startProxy,
  tally,
  verdicts,
} from "./suite.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, "fixture_server.mjs");
const p2pmcp = requireEnv("P2PMCP_BIN", "the p2pmcp binary");
const server = "conformance"; // the fixture's name in node A's mcpServers

const testRun = new TestRun("p2pmcp-conformance-", p2pmcp);
const { work, closers } = testRun;
let directUrl;
let gatewayUrl; // node B's aggregated endpoint
let prefix; // <alias>_conformance: how B names the fixture
let direct; // verdicts of the direct run
let directRuns; // the direct run's raw results
let singleRuns; // the single-server endpoint's raw results
let single; // verdicts of the run through the single-server endpoint
const report = [];

/** A test body whose failure prints every process's log (once, at the end). */
const logged = (body) => testRun.logged(body);

/** Starts the fixture over Streamable HTTP; its URL is the one line it prints on stdout. */
async function startDirectFixture() {
  const child = testRun.start("fixture (HTTP)", node22, [fixture, "http"]);
  return retryUntil(
    () => {
      if (!child.running) throw new Error(`the fixture ${child.exitStatus}: ${child.output.join("")}`);
      const line = child.output.join("").split("\n").find((l) => l.startsWith("{"));
      return line ? JSON.parse(line).url : undefined;
    },
    { timeout: 20000, interval: 50, what: "the HTTP fixture did not print its URL" },
  );
}

async function runAndRecord(label, url) {
  const runs = await runSuites(url, path.join(work, "results", label.replace(/\W+/g, "-")));
  const result = verdicts(runs);
  report.push(`== ${label} (${url}): ${JSON.stringify(tally(result))}\n${describeVerdicts(result)}`);
  return { runs, result };
}

async function stopEverything() {
  if (process.env.CONFORMANCE_REPORT) writeFileSync(process.env.CONFORMANCE_REPORT, report.join("\n\n") + "\n");
  await testRun.cleanUp();
}

/**
 * The checks of `result` that differ from the direct run: {real, choice} (choice: SSE-or-JSON
 * differences, see transportChoiceChecks), both reported as diagnostics.
 */
function compare(t, label, result) {
  const found = differences(direct, result);
  const real = found.filter((d) => !d.transportChoice);
  const choice = found.filter((d) => d.transportChoice);
  t.diagnostic(`${label}: ${JSON.stringify(tally(result))}; ${real.length} check(s) differ from the direct run`);
  if (real.length) t.diagnostic(`\n${describeDifferences(real, "direct", label)}`);
  if (choice.length)
    t.diagnostic(`not counted (the server may answer JSON instead of SSE):\n${describeDifferences(choice, "direct", label)}`);
  return { real, choice };
}

const fixtureTools = ["test_simple_text", "test_sampling", "json_schema_2020_12_tool", "test_reconnection"];

describe("the MCP conformance suite against p2pmcp", { timeout: 900000 }, () => {
  before(logged(async () => {
    directUrl = await startDirectFixture();
    // A hosts the fixture over stdio as `conformance`; B reaches it (they trust each other).
    const { a, b } = await testRun.startTrustedPair({ [server]: { command: node22, args: [fixture, "stdio"] } });
    gatewayUrl = b.info.gateway;
    prefix = `${a.alias}_${server}`;
    await waitForGatewayTools(gatewayUrl, fixtureTools.map((tool) => `${prefix}_${tool}`), "conformance-wait");
  }), { timeout: 120000 });
  after(stopEverything, { timeout: 60000 });

  it("the fixture alone passes every check (active and pending)", { timeout: 300000 }, logged(async (t) => {
    const { runs, result } = await runAndRecord("direct", directUrl);
    direct = result;
    directRuns = runs;
    t.diagnostic(`direct: ${JSON.stringify(tally(result))}`);
    const failed = [...result].filter(([, v]) => v.status === "FAILURE");
    assert.deepEqual(failed, [], `the fixture fails checks by itself:\n${describeVerdicts(new Map(failed))}`);
    for (const { suite, code, output } of runs) assert.equal(code, 0, `suite ${suite} exited ${code}:\n${output}`);
    assert.ok(result.size >= 40, `the suite reported ${result.size} checks, expected at least 40`);
  }));

  it("the aggregated endpoint passes the checks the fixture passes, with the gateway's names",
     { timeout: 300000 }, logged(async (t) => {
    assert.ok(direct, "the direct run must come first");
    const proxy = await startProxy(gatewayUrl, prefix);
    closers.push(proxy.close);
    const { result } = await runAndRecord("aggregated /mcp (names mapped)", proxy.url);
    t.diagnostic(`ended ${await proxy.endSessions()} sessions the suite left open`);
    const { real } = compare(t, "aggregated", result);
    assert.deepEqual(real, [], `checks that differ from the direct run:\n${describeDifferences(real, "direct", "aggregated")}`);
  }));

  it("the single-server endpoint passes exactly the checks the fixture passes", { timeout: 300000 },
     logged(async (t) => {
    const proxy = await startProxy(`${gatewayUrl}/${prefix}`);
    closers.push(proxy.close);
    const { runs, result } = await runAndRecord("single-server endpoint", proxy.url);
    t.diagnostic(`ended ${await proxy.endSessions()} sessions the suite left open`);
    single = result;
    singleRuns = runs;
    const { real } = compare(t, "single-server", result);
    assert.deepEqual(real, [], `checks that differ from the direct run:\n${describeDifferences(real, "direct", "single-server")}`);
  }));

  // What the suite's checks report beyond pass/fail: the tool results, prompt messages,
  // elicitation schemas and progress it got. Through the single-server endpoint they must
  // be what the fixture itself sent, byte for byte (member order, progress tokens, URIs).
  it("the single-server endpoint relays the fixture's answers unchanged (the checks' details)", { timeout: 10000 },
     logged(async () => {
    assert.ok(directRuns && singleRuns, "the direct and single-server runs must come first");
    const expected = detailTexts(directRuns);
    const actual = detailTexts(singleRuns);
    const changed = [...expected].filter(([key, text]) => actual.get(key) !== text)
      .map(([key, text]) => `  ${key}\n    direct: ${text}\n    single: ${actual.get(key) ?? "(absent)"}`);
    assert.deepEqual(changed, [], `answers that changed on the way:\n${changed.join("\n")}`);
  }));

  // The suite never ends its sessions (no DELETE, ~33 per run of both suites): here nothing
  // cleans up after it, so from the third run on the gateway is at its 64-session limit and
  // must close the least recently used idle sessions to admit the suite's new ones.
  it("five runs in a row against the same node (no restart) give the same verdicts", { timeout: 900000 },
     logged(async (t) => {
    assert.ok(single, "the single-server run must come first");
    for (let round = 1; round <= 5; ++round) {
      const { result } = await runAndRecord(`single-server endpoint, run ${round} of 5`, `${gatewayUrl}/${prefix}`);
      const found = differences(single, result);
      t.diagnostic(`run ${round}: ${JSON.stringify(tally(result))}`);
      assert.deepEqual(found, [], `run ${round} differs from the first run:\n${describeDifferences(found, "first", "now")}`);
    }
  }));

  it("the single-server endpoint and `p2pmcp stdio --server` show the fixture's own identity and names",
     { timeout: 60000 }, logged(async () => {
    const expected = await identity(await connectTracked(connectHttp(directUrl, { name: "conformance-direct" })));
    const viaHttp = await identity(await connectTracked(connectHttp(`${gatewayUrl}/${prefix}`, { name: "conformance-single" })));
    const viaStdio = await identity(await connectTracked(connectStdioServer(prefix)));
    for (const [label, seen] of [["the single-server endpoint", viaHttp], ["p2pmcp stdio --server", viaStdio]]) {
      assert.deepEqual(seen.serverInfo, expected.serverInfo, `${label}: serverInfo`);
      assert.equal(seen.instructions, expected.instructions, `${label}: instructions`);
      // The node announces changes of the tool list it caches: tools.listChanged is its own.
      assert.deepEqual({ ...seen.capabilities, tools: {} }, { ...expected.capabilities, tools: {} }, `${label}: capabilities`);
      assert.deepEqual(seen.tools, expected.tools, `${label}: tool names`);
      assert.deepEqual(seen.resources, expected.resources, `${label}: resource URIs`);
      assert.deepEqual(seen.prompts, expected.prompts, `${label}: prompt names`);
    }

    const missing = await fetch(`${gatewayUrl}/${prefix}_nope`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize",
                             params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    assert.equal(missing.status, 404, "an unknown server name is 404");
    const body = await missing.json();
    assert.match(body.error.message, new RegExp(`no MCP server named '${prefix}_nope'.*/mcp/${prefix}`),
                 "the 404 says which names exist");
  }));
});

/** What a client learns at initialize and from the lists, for comparing endpoints. */
async function identity(client) {
  return {
    serverInfo: client.getServerVersion(),
    instructions: client.getInstructions(),
    capabilities: client.getServerCapabilities(),
    tools: (await allTools(client)).map((tool) => tool.name).sort(),
    resources: (await allResources(client)).map((resource) => resource.uri).sort(),
    prompts: (await allPrompts(client)).map((prompt) => prompt.name).sort(),
  };
}

async function connectTracked(clientPromise) {
  const client = await clientPromise;
  closers.push(() => client.closeAll());
  return client;
}

/** An SDK client through `p2pmcp stdio --server <name>` against node B. */
async function connectStdioServer(name) {
  const client = new Client({ name: "conformance-stdio", version: "1.0.0" }, { capabilities: {} });
  const transport = new StdioClientTransport({
    command: p2pmcp, args: ["stdio", "--home", path.join(work, "b"), "--server", name], stderr: "pipe" });
  const stderr = [];
  transport.stderr.on("data", (chunk) => stderr.push(chunk.toString()));
  try {
    await withDeadline(client.connect(transport), 20000, `initialize through p2pmcp stdio --server ${name}`);
  } catch (error) {
    await client.close().catch(() => {});
    error.message += `; the bridge's stderr: ${stderr.join("").trim() || "(empty)"}`;
    throw error;
  }
  client.closeAll = () => client.close();
  return client;
}
