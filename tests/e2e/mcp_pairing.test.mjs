// Pairing two running nodes, in both orders, and ending it (issue 8: trust is explicit).
//
// Nodes X and Y run with nothing but the built-in server `node` and know nothing of each
// other. Pairing is one `p2pmcp pair` / `trust add` on each node while both run; whichever
// node trusts first reaches the other's `node` server and is refused (-32012), and its
// remote server then waits refused_retry (5 min) before it asks again. The second
// `trust add` must complete the pairing at once: each gateway lists the other's tools
// within `bound` (far below 5 min), both orders. Removing trust on one side ends the
// other's sessions on its servers: a call through the other's gateway that worked a
// moment ago is refused with the sentence that says how to trust it.
//
// Run by CTest as `mcp_pairing` (label interop):
//   P2PMCP_BIN=<p2pmcp> node --test-reporter=spec tests/e2e/mcp_pairing.test.mjs
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";

import {
  TestRun,
  allTools,
  connectHttp,
  requireEnv,
  resultText,
  retryUntil,
  run,
} from "./helpers.mjs";

const p2pmcp = requireEnv("P2PMCP_BIN", "the p2pmcp binary");
const bound = 20000; // ms: how long pairing may take (the refused retry is 5 min)

const testRun = new TestRun("p2pmcp-pairing-", p2pmcp);
const logged = (body) => testRun.logged(body);
const nodes = {}; // x, y: {label, home, info, process, alias, address, client}

/** A node with only the built-in server, and an MCP client on its gateway. */
async function startNode(label) {
  const node = await testRun.startNode(`node ${label}`, label);
  node.label = label;
  node.client = await connectHttp(node.info.gateway, { name: `pairing-${label}` });
  testRun.closers.push(() => node.client.closeAll());
  return node;
}

async function cli(args) {
  const result = await run(p2pmcp, args);
  assert.equal(result.code, 0, `p2pmcp ${args.join(" ")} exits 0 (stderr: ${result.stderr})`);
  return result.stdout;
}

const pair = (from, to) => cli(["pair", to.address, "--home", from.home]);
const trustRemove = (from, to) => cli(["trust", "remove", to.info.peerId, "--home", from.home]);

/** Waits (at most `bound`) until `at`'s gateway lists `of`'s built-in `peers` tool, and calls it. */
async function waitForTools(at, of, what) {
  const tool = `${of.alias}_node_peers`;
  const started = Date.now();
  await retryUntil(async () => ((await allTools(at.client)).some((t) => t.name === tool) ? true : undefined),
                   { timeout: bound, interval: 100,
                     what: `${what}: ${at.label}'s gateway did not list ${of.label}'s tool ${tool} (pairing stalled?)` });
  const result = await at.client.callTool({ name: tool, arguments: {} }, undefined, { timeout: 20000 });
  assert.ok(!result.isError, `${at.label} calls ${tool}: ${resultText(result)}`);
  return Date.now() - started;
}

describe("pairing two running nodes", { timeout: 300000 }, () => {
  before(logged(async () => {
    nodes.x = await startNode("x");
    nodes.y = await startNode("y");
  }), { timeout: 60000 });
  after(() => testRun.cleanUp(), { timeout: 60000 });

  it("X pairs first, then Y: both gateways list the other's tools at once", { timeout: 60000 },
     logged(async (t) => {
    const { x, y } = nodes;
    assert.match(await pair(x, y), /paired with peer/);
    // X now reaches Y's `node` server and is refused: wait for that, so that X is in the
    // refused backoff when Y trusts it (the case that used to stall for 5 min).
    await retryUntil(() => (/refused initialize/.test(x.process.output.join("")) ? true : undefined),
                     { timeout: bound, interval: 50, what: "X was never refused by Y" });
    assert.match(await pair(y, x), /paired with peer/);
    t.diagnostic(`X lists Y's tools after ${await waitForTools(x, y, "X first")} ms`);
    t.diagnostic(`Y lists X's tools after ${await waitForTools(y, x, "X first")} ms`);
  }));

  it("trust remove ends the other's sessions on our servers", { timeout: 60000 }, logged(async () => {
    const { x, y } = nodes;
    const tool = `${y.alias}_node_peers`;
    assert.match(await trustRemove(y, x), /no longer trusting peer/);
    const refused = await retryUntil(async () => {
      try {
        const result = await x.client.callTool({ name: tool, arguments: {} }, undefined, { timeout: 20000 });
        return result.isError && /not trusted/.test(resultText(result)) ? resultText(result) : undefined;
      } catch (error) {
        if (/not trusted/.test(error.message)) return error.message;
        return undefined;
      }
    }, { timeout: bound, interval: 100, what: `X's call of ${tool} was not refused as "not trusted" after Y removed its trust` });
    assert.match(refused, new RegExp(`peer ${x.info.peerId} is not trusted by this node.*p2pmcp trust add`));
    assert.match(y.process.output.join(""), new RegExp(`ending the session of peer ${x.info.peerId} on MCP server 'node'`),
                 "Y's log says it ended X's session");
    await retryUntil(async () => ((await allTools(y.client)).some((t) => t.name.startsWith(`${x.alias}_`)) ? undefined : true),
                     { timeout: bound, interval: 100, what: "X's tools stayed in Y's gateway after trust remove" });
    assert.match(await trustRemove(x, y), /no longer trusting peer/);
  }));

  it("Y trusts first, then X: both gateways list the other's tools at once", { timeout: 60000 },
     logged(async (t) => {
    const { x, y } = nodes;
    const refusalsBefore = (y.process.output.join("").match(/refused initialize/g) ?? []).length;
    assert.match(await pair(y, x), /paired with peer/);
    await retryUntil(
      () => ((y.process.output.join("").match(/refused initialize/g) ?? []).length > refusalsBefore ? true : undefined),
      { timeout: bound, interval: 50, what: "Y was never refused by X" });
    assert.match(await pair(x, y), /paired with peer/);
    t.diagnostic(`Y lists X's tools after ${await waitForTools(y, x, "Y first")} ms`);
    t.diagnostic(`X lists Y's tools after ${await waitForTools(x, y, "Y first")} ms`);
  }));
});
