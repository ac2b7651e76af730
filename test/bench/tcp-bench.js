'use strict';
/**
 * The TCP side of `npm run bench`: one program for both ends, on Node's own kernel sockets
 * (node:net) or, with --stack, on the pytcp stack that `--require pytcp/register` started
 * (through the minimal socket API, lib/tcp-socket.ts), so both sides of every comparison
 * run the same code.
 *
 *   node tcp-bench.js [--stack] sink PORT                    count what each connection sends
 *   node tcp-bench.js [--stack] source HOST PORT SEC [WARM]  send 64 KiB writes for SEC seconds, then end
 *   node tcp-bench.js [--stack] echo PORT                    send back every byte
 *   node tcp-bench.js [--stack] rr HOST PORT SEC [WARM]      1-byte request/response, one at a time
 *
 * Servers print `listening` once they accept, then one JSON line per finished connection;
 * clients print one JSON line and exit. WARM seconds come first and are not counted (the
 * source spends them on a connection of their own, which the sink reports too), so the
 * measured part runs on code the JIT has already compiled. SIGTERM ends the process
 * normally, so a `--cpu-prof` profile is written. On the stack, bulk figures carry the TAP's
 * frame and batch counts for the connection.
 */
const net = require('node:net');
const path = require('node:path');

const CHUNK = 64 * 1024;
const args = process.argv.slice(2);
const onStack = args[0] === '--stack';
const [mode, ...rest] = onStack ? args.slice(1) : args;

/**
 * What the bench needs from whichever sockets this process uses. Both socket kinds have the
 * same event names and write/end/setNoDelay semantics.
 * @typedef {{ on(event: string, fn: (...a: any[]) => void): unknown; once(event: string, fn: (...a: any[]) => void): unknown; write(b: Uint8Array): boolean; end(): void; setNoDelay(on?: boolean): unknown }} BenchSocket
 * @typedef {Record<string, number>} DeviceCounters
 * @type {{ listen(port: number, onConnection: (s: BenchSocket) => void): void; connect(host: string, port: number, onConnect: (s: BenchSocket) => void): void; deviceCounters(): DeviceCounters | undefined }}
 */
const sockets = onStack ? stackSockets() : kernelSockets();

function kernelSockets() {
  return {
    /** @param {number} port @param {(s: BenchSocket) => void} onConnection */
    listen(port, onConnection) {
      net.createServer({ noDelay: true }, onConnection).listen(port, () => say('listening'));
    },
    /** @param {string} host @param {number} port @param {(s: BenchSocket) => void} onConnect */
    connect(host, port, onConnect) {
      const socket = net.connect({ host, port, noDelay: true }, () => onConnect(socket));
      socket.on('error', fail);
    },
    deviceCounters: () => undefined,
  };
}

function stackSockets() {
  const dist = path.join(__dirname, '..', '..', 'dist');
  // The preload already ran: this is the same module instance, holding the started stack.
  const { running } = require(path.join(dist, 'shim', 'register.js'));
  const { tcpConnect, createTcpServer } = require(path.join(dist, 'lib', 'tcp-socket.js'));
  // The preload's stack keeps no process alive and neither do the minimal API's sockets.
  setInterval(() => {}, 1 << 30);
  return {
    /** @param {number} port @param {(s: BenchSocket) => void} onConnection */
    listen(port, onConnection) {
      const server = createTcpServer(running.driver, (/** @type {BenchSocket} */ socket) => {
        socket.setNoDelay(true);
        onConnection(socket);
      });
      server.on('error', fail);
      server.on('listening', () => say('listening'));
      server.listen(port);
    },
    /** @param {string} host @param {number} port @param {(s: BenchSocket) => void} onConnect */
    connect(host, port, onConnect) {
      const socket = tcpConnect(running.driver, { host, port });
      socket.setNoDelay(true);
      socket.on('error', fail);
      socket.on('connect', () => onConnect(socket));
    },
    /** The TAP's frame and batch counts (absent when the packet log wraps the device). */
    deviceCounters: () => (running.device.stats ? { ...running.device.stats } : undefined),
  };
}

/**
 * What the device did since `before` (frames and batches each way), to relate the
 * figures to system calls; nothing on kernel sockets.
 * @param {DeviceCounters | undefined} before
 */
function deviceSince(before) {
  const now = sockets.deviceCounters();
  if (!before || !now) return {};
  return { device: Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - before[k]])) };
}

/** @param {string} line */
function say(line) {
  process.stdout.write(line + '\n');
}

/** @param {Error} err */
function fail(err) {
  process.stderr.write(`tcp-bench ${mode}: ${err.message}\n`);
  process.exit(1);
}

/** Seconds since `start` (a process.hrtime.bigint()). @param {bigint} start */
function since(start) {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Throughput is timed from the first byte to the sender's FIN: everything sent has then arrived.
 * @param {number} port
 */
function sink(port) {
  sockets.listen(port, (socket) => {
    let bytes = 0;
    /** @type {bigint | undefined} */
    let first;
    const counters = sockets.deviceCounters();
    socket.on('data', (/** @type {Uint8Array} */ chunk) => {
      first ??= process.hrtime.bigint();
      bytes += chunk.length;
    });
    socket.on('end', () => {
      const seconds = first === undefined ? 0 : since(first);
      say(JSON.stringify({ mode: 'sink', bytes, seconds, mbPerSecond: seconds > 0 ? bytes / 1e6 / seconds : 0, ...deviceSince(counters) }));
    });
    // A connection that fails prints no figures (the bench then says so); the server goes on.
    socket.on('error', () => {});
  });
}

/**
 * Writes one unchanging buffer as fast as the socket takes it, for `seconds`, and calls
 * `done` with what it sent once the peer closed too (it then has everything).
 * @param {string} host @param {number} port @param {number} seconds @param {(figures: object) => void} done
 */
function sendFor(host, port, seconds, done) {
  const chunk = Buffer.alloc(CHUNK, 0x61);
  sockets.connect(host, port, (socket) => {
    const start = process.hrtime.bigint();
    const until = start + BigInt(Math.round(seconds * 1e9));
    const counters = sockets.deviceCounters();
    let bytes = 0;
    const pump = () => {
      while (process.hrtime.bigint() < until) {
        bytes += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    socket.on('data', () => {});
    socket.on('close', () => done({ mode: 'source', bytes, seconds: since(start), ...deviceSince(counters) }));
    pump();
  });
}

/** @param {string} host @param {number} port @param {number} seconds @param {number} warm */
function source(host, port, seconds, warm) {
  const measured = () =>
    sendFor(host, port, seconds, (figures) => {
      say(JSON.stringify(figures));
      process.exit(0);
    });
  if (warm > 0) sendFor(host, port, warm, measured);
  else measured();
}

/** @param {number} port */
function echo(port) {
  sockets.listen(port, (socket) => {
    socket.on('data', (/** @type {Uint8Array} */ chunk) => socket.write(chunk));
    // The client's figures tell whether it worked; one failed connection must not end the server.
    socket.on('error', () => {});
  });
}

/**
 * One byte out, wait for one byte back, again, for `warm` then `seconds` seconds; prints
 * the rate and the round-trip percentiles of the second part.
 * @param {string} host @param {number} port @param {number} seconds @param {number} warm
 */
function requestResponse(host, port, seconds, warm) {
  const request = Buffer.from([0x72]);
  const ns = (/** @type {number} */ sec) => BigInt(Math.round(sec * 1e9));
  sockets.connect(host, port, (socket) => {
    /** Round trips in µs; a Float64Array so recording one allocates nothing. */
    const rtts = new Float64Array(Math.ceil(seconds * 200_000));
    let count = 0;
    let sentAt = process.hrtime.bigint();
    const start = sentAt + ns(warm);
    let end = start + ns(seconds);
    let outstanding = 0;
    const send = () => {
      sentAt = process.hrtime.bigint();
      outstanding = 1;
      socket.write(request);
    };
    socket.on('data', (/** @type {Uint8Array} */ chunk) => {
      outstanding -= chunk.length;
      if (outstanding > 0) return;
      const now = process.hrtime.bigint();
      // Counted only when it started inside the measured part.
      if (sentAt >= start) {
        if (count < rtts.length) rtts[count] = Number(now - sentAt) / 1e3;
        count++;
      }
      if (now < end) return send();
      end = now;
      socket.end();
    });
    socket.on('close', () => {
      const elapsed = Number(end - start) / 1e9;
      const sorted = rtts.subarray(0, Math.min(count, rtts.length)).sort();
      const at = (/** @type {number} */ q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      say(JSON.stringify({ mode: 'rr', count, seconds: elapsed, perSecond: count / elapsed, p50Us: at(0.5), p99Us: at(0.99) }));
      process.exit(0);
    });
    send();
  });
}

process.once('SIGTERM', () => process.exit(0));

const number = (/** @type {string | undefined} */ text) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) fail(new Error(`not a positive number: ${text}`));
  return n;
};
switch (mode) {
  case 'sink':
    sink(number(rest[0]));
    break;
  case 'source':
    source(rest[0], number(rest[1]), number(rest[2]), rest[3] === undefined ? 0 : Number(rest[3]));
    break;
  case 'echo':
    echo(number(rest[0]));
    break;
  case 'rr':
    requestResponse(rest[0], number(rest[1]), number(rest[2]), rest[3] === undefined ? 0 : Number(rest[3]));
    break;
  default:
    fail(new Error('usage: tcp-bench.js [--stack] sink PORT | source HOST PORT SEC [WARM] | echo PORT | rr HOST PORT SEC [WARM]'));
}
