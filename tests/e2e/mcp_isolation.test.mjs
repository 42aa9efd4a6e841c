// Isolation between the clients of a gateway (issue 8, "Done when": "two and then 16
// concurrent clients, each calling the sampling tool, elicitation, a logging tool and
// subscribe/unsubscribe, 100 rounds: every message reaches only its own client").
//
// Node A hosts the conformance fixture (tests/conformance/fixture_server.mjs, the MCP
// TypeScript SDK) over stdio as `iso`; A and B trust each other (their configs), B starts
// with --bootstrap <A>. N SDK clients, each in its own gateway session, run R rounds, all
// clients at once within a round; in each round every client
//   1. calls test_sampling {prompt: "sample <client> round <r>"}: its sampling handler must
//      get exactly that prompt, and the result must carry its own answer;
//   2. calls test_elicitation {message: "elicit <client> round <r>"}: the same for the form;
//   3. calls isolation_log {tag: "log <client> round <r>"}: it must get the three log
//      messages "<tag> #1..3" and no other client's;
//   4. subscribes to its own resource test://isolation/<client>, calls isolation_update
//      for it and for test://watched-resource (which every client subscribed to at the
//      start), unsubscribes from its own and calls isolation_update again: it must get one
//      update of its own resource and two of the shared one per round, and none of another
//      client's resources.
// Halfway, the first client unsubscribes from the shared resource: from then on it gets
// no update of it, and every other client still gets its own.
// Runs: 2 and 16 clients through B's gateway (the server on a peer), then 16 clients on
// A's own gateway (the server local). The fixture gives each of its sessions its own
// subscriptions and sends logs, updates and requests on the call that caused them, so
// with one upstream session per client session every count is exact.
//
// Run by CTest as `mcp_isolation` (label interop) with the Node.js 22 from tests/interop:
//   P2PMCP_BIN=<p2pmcp> node --test-reporter=spec tests/e2e/mcp_isolation.test.mjs
// P2PMCP_ISOLATION_ROUNDS (default 100) sets R.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import {
  Client,
  CreateMessageRequestSchema,
  StreamableHTTPClientTransport,
  TestRun,
  interopDir,
  node22,
  requireEnv,
  resultText,
  retryUntil,
  waitForGatewayTools,
  withDeadline,
} from "./helpers.mjs";

const { ElicitRequestSchema, LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } = await import(
  pathToFileURL(path.join(interopDir, "node_modules/@modelcontextprotocol/sdk/dist/esm/types.js")).href);

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.resolve(here, "../conformance/fixture_server.mjs");
const p2pmcp = requireEnv("P2PMCP_BIN", "the p2pmcp binary");
const rounds = Number(process.env.P2PMCP_ISOLATION_ROUNDS ?? 100);
const server = "iso"; // the fixture's name in A's mcpServers
const shared = "test://watched-resource"; // every client subscribes to it
const callTimeout = { timeout: 20000 }; // per request: a hang fails the run, with its name
const maxReported = 12; // problems quoted in a failure (the count is always given)

const testRun = new TestRun("p2pmcp-isolation-", p2pmcp);
const logged = (body) => testRun.logged(body);
let infoA;
let infoB;
let alias; // how B names A

async function startNetwork() {
  const { a, b } = await testRun.startTrustedPair({ [server]: { command: node22, args: [fixture, "stdio"] } });
  infoA = a.info;
  infoB = b.info;
  alias = a.alias;
  await waitForGatewayTools(infoB.gateway, [`${alias}_${server}_isolation_update`], "isolation-wait");
}

/**
 * One client in its own gateway session, with handlers that record what reaches it and
 * note, as a sentence in `problems`, everything that belongs to another client.
 */
async function isolationClient(url, id, names, problems) {
  const client = new Client({ name: id, version: "1.0.0" }, { capabilities: { sampling: {}, elicitation: {} } });
  const seen = { prompts: 0, forms: 0, logs: 0, own: 0, shared: 0 };
  const owner = (text) => /^\w+ (\S+) round/.exec(text)?.[1] ?? `an unknown client ('${text}')`;
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const prompt = request.params.messages?.[0]?.content?.text ?? "";
    if (prompt.startsWith(`sample ${id} `)) seen.prompts += 1;
    else problems.push(`client ${id}'s sampling handler received ${owner(prompt)}'s prompt '${prompt}'`);
    return { model: "isolation-test", role: "assistant", content: { type: "text", text: `${id} answers '${prompt}'` } };
  });
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    const message = request.params.message ?? "";
    if (message.startsWith(`elicit ${id} `)) seen.forms += 1;
    else problems.push(`client ${id}'s elicitation handler received ${owner(message)}'s form '${message}'`);
    return { action: "accept", content: { username: id, email: `${id}@example.test` } };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    const data = String(notification.params.data);
    if (data.startsWith(`log ${id} `)) seen.logs += 1;
    else problems.push(`client ${id} received ${owner(data)}'s log message '${data}'`);
  });
  const ownUri = names.uri(`test://isolation/${id}`);
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    const { uri } = notification.params;
    if (uri === ownUri) seen.own += 1;
    else if (uri === names.uri(shared)) seen.shared += 1;
    else problems.push(`client ${id} received an update of another client's resource ${uri}`);
  });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await withDeadline(client.connect(transport), 20000, `initialize of client ${id} at ${url}`);
  return {
    id, client, seen, ownUri,
    close: async () => {
      await withDeadline(transport.terminateSession(), 5000, `DELETE of ${id}'s session`).catch(() => {});
      await client.close();
    },
  };
}

/** Calls a tool; a failure or an unexpected result is a problem, not an exception. */
async function call(c, names, problems, what, tool, args, expected) {
  try {
    const result = await c.client.callTool({ name: names.tool(tool), arguments: args }, undefined, callTimeout);
    const text = resultText(result);
    if (result.isError || !expected(text)) problems.push(`client ${c.id}: ${what} returned '${text}'`);
  } catch (error) {
    problems.push(`client ${c.id}: ${what} failed: ${error.message}`);
  }
}

async function request(c, problems, what, promise) {
  try {
    await promise;
  } catch (error) {
    problems.push(`client ${c.id}: ${what} failed: ${error.message}`);
  }
}

/** One client's round (see the top of the file). */
async function round(c, r, names, problems) {
  const tag = `${c.id} round ${r}`;
  await call(c, names, problems, `test_sampling in round ${r}`, "test_sampling", { prompt: `sample ${tag}` },
             (text) => text === `LLM response: ${c.id} answers 'sample ${tag}'`);
  await call(c, names, problems, `test_elicitation in round ${r}`, "test_elicitation", { message: `elicit ${tag}` },
             (text) => text.includes(`"username":"${c.id}"`));
  await call(c, names, problems, `isolation_log in round ${r}`, "isolation_log", { tag: `log ${tag}` },
             (text) => text === `logged log ${tag}`);
  const own = `test://isolation/${c.id}`;
  await request(c, problems, `resources/subscribe in round ${r}`, c.client.subscribeResource({ uri: c.ownUri }, callTimeout));
  await call(c, names, problems, `isolation_update while subscribed in round ${r}`, "isolation_update",
             { uris: [own, shared] }, (text) => JSON.parse(text).includes(own));
  await request(c, problems, `resources/unsubscribe in round ${r}`,
                c.client.unsubscribeResource({ uri: c.ownUri }, callTimeout));
  await call(c, names, problems, `isolation_update after unsubscribing in round ${r}`, "isolation_update",
             { uris: [own, shared] }, (text) => !JSON.parse(text).includes(own));
}

function failIf(problems, label) {
  if (problems.length === 0) return;
  const quoted = problems.slice(0, maxReported).map((p) => `  - ${p}`).join("\n");
  const more = problems.length > maxReported ? `\n  ... and ${problems.length - maxReported} more` : "";
  assert.fail(`${label}: ${problems.length} message(s) reached the wrong client or failed:\n${quoted}${more}`);
}

const counted = (key) => ({ prompts: "sampling requests", forms: "elicitation requests", logs: "log messages",
                              own: "updates of its own resource", shared: "updates of the shared resource" })[key];

/** N clients, R rounds, against `url` where the fixture's names are `names`. */
async function isolationRun(t, url, names, count, label) {
  const problems = [];
  const started = Date.now();
  const clients = [];
  try {
    for (let i = 0; i < count; ++i)
      clients.push(await isolationClient(url, `${label}c${i}`, names, problems));
    await Promise.all(clients.map(async (c) => {
      await request(c, problems, "logging/setLevel info", c.client.setLoggingLevel("info", callTimeout));
      await request(c, problems, "resources/subscribe to the shared resource",
                    c.client.subscribeResource({ uri: names.uri(shared) }, callTimeout));
    }));
    const half = Math.floor(rounds / 2);
    for (let r = 0; r < rounds; ++r) {
      if (r === half)
        await request(clients[0], problems, "resources/unsubscribe from the shared resource",
                      clients[0].client.unsubscribeResource({ uri: names.uri(shared) }, callTimeout));
      await Promise.all(clients.map((c) => round(c, r, names, problems)));
      // More than a client's own calls caused can only be another client's messages
      // (fewer may still be on the way: counted after the last round).
      clients.forEach((c, i) => {
        const most = { logs: 3 * (r + 1), own: r + 1, shared: 2 * (i === 0 ? Math.min(r + 1, half) : r + 1) };
        for (const [key, limit] of Object.entries(most))
          if (c.seen[key] > limit)
            problems.push(`client ${c.id} got ${c.seen[key]} ${counted(key)} by round ${r + 1}, but its own calls ` +
                          `caused at most ${limit}: it receives what other clients' calls caused`);
      });
      // Stop at the first round that went wrong: the sentences say what, more rounds add nothing.
      failIf(problems, `${count} clients, round ${r + 1} of ${rounds}`);
    }
    // Notifications that are not on the call's own stream may arrive after its result.
    const expected = (c, i) => ({ prompts: rounds, forms: rounds, logs: 3 * rounds, own: rounds,
                                  shared: 2 * (i === 0 ? half : rounds) });
    const missing = () => clients.flatMap((c, i) => Object.entries(expected(c, i))
      .filter(([key, want]) => c.seen[key] !== want)
      .map(([key, want]) => `client ${c.id} got ${c.seen[key]} ${counted(key)}, expected ${want}`));
    await retryUntil(() => (missing().length === 0 ? true : undefined),
                     { timeout: 10000, interval: 50, what: "counts did not settle" }).catch(() => {});
    problems.push(...missing());
    failIf(problems, `${count} clients after ${rounds} rounds`);
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    t.diagnostic(`${count} clients x ${rounds} rounds at ${url}: ${Date.now() - started} ms`);
  }
}

const throughB = () => ({ tool: (t) => `${alias}_${server}_${t}`, uri: (u) => `p2pmcp://${alias}_${server}/${u}` });
const onA = () => ({ tool: (t) => `local_${server}_${t}`, uri: (u) => `p2pmcp://local_${server}/${u}` });

describe("every message reaches only its own client", { timeout: 600000 }, () => {
  before(logged(startNetwork), { timeout: 120000 });
  after(() => testRun.cleanUp(), { timeout: 60000 });

  it(`2 clients through B's gateway (server on peer A), ${rounds} rounds`, { timeout: 180000 },
     logged((t) => isolationRun(t, infoB.gateway, throughB(), 2, "b2")));
  it(`16 clients through B's gateway (server on peer A), ${rounds} rounds`, { timeout: 300000 },
     logged((t) => isolationRun(t, infoB.gateway, throughB(), 16, "b16")));
  it(`16 clients on A's gateway (server local), ${rounds} rounds`, { timeout: 300000 },
     logged((t) => isolationRun(t, infoA.gateway, onA(), 16, "a16")));
});
