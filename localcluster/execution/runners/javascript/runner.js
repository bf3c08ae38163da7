'use strict';
/*
 * The worker side of algorithm execution for JavaScript: run by the host's node, core modules only.
 *
 *   node runner.js --module-file PATH            serve calls (the server's pool adds --parent-pid N)
 *   node runner.js --check --module-file PATH    load the algorithm without calling load() or serving:
 *                                                exit 0, or 1 with the error on stderr
 *
 * It speaks the frame protocol of localcluster/execution/runner.py (the reference: its docstring has
 * the frames), and behaves as that runner does:
 *
 *   algorithm      src/<Name>.js exporting apply(input, cb): cb(err, result), or apply returns a value or a
 *                  promise (an async function). An optional exported load() runs once per worker, inside
 *                  the first call, with that call's env applied; it may return a value or a promise, or
 *                  take a callback (load(cb)). What it gives is apply's third argument: apply(input, cb, state).
 *   answer         the first of: cb(err, result), a synchronous throw, and for a function that does not
 *                  declare cb (apply.length < 2) its return value or promise. A function declaring cb is
 *                  answered by cb, or by its promise when it is async and rejects or resolves to a value:
 *                  anything else it returns (the client's .then(), a request object) is not its answer, and
 *                  the docs' `throw cb(error, input)` reports the error given to cb. An exception nobody
 *                  caught (in a timer, a rejected promise) fails the call in flight.
 *   errors         cb(err) / throw: an Error gives its message and stack; a string is the message, the stack
 *                  is where cb was called. error_type is err.error_type when it is a string, else
 *                  AlgorithmError. Our frames and node's internal ones are left out of the stack.
 *   input/output   text: a string (invalid UTF-8 is an InputError); json: the parsed value (bad JSON is an
 *                  InputError); binary: a Buffer. A Buffer / typed array / ArrayBuffer result is binary, a
 *                  string text, anything else JSON (undefined is null).
 *   per-call key   each call's env goes into process.env; clients of the official `algorithmia` package
 *                  made before (at require time, in load()) answer with the current call's key (CallKeys).
 *   fds            the frames travel on private descriptors of the original pipes; fd 0 becomes /dev/null
 *                  and fd 1 an unlinked append-only file emptied before each call, so whatever the call
 *                  prints (console, process.stdout, child processes) is its stdout and never reaches the
 *                  frame pipe. fd 2 stays the worker log.
 *   TLS            with REQUESTS_CA_BUNDLE (the cluster's CA), TLS clients trust it beside node's own roots.
 *   parent         the worker ends (its process group with it) when the server is gone, polled every 0.5 s
 *                  on the event loop: an algorithm that keeps the loop busy (an endless synchronous loop)
 *                  outlives a SIGKILLed server until the loop is free again. A watcher thread would not wait
 *                  for the loop, but it doubled a worker's start (~70 -> ~130 ms) and added 9 MiB.
 */

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const url = require('url');

const HEADER_SIZE = 8;
const EMPTY = Buffer.alloc(0);
const PARENT_POLL_MS = 500;

// ---------------------------------------------------------------------------------------------
// Settling one call of the algorithm's function, however it answers

class Reported {
  /* What the algorithm reported as its error: the value itself, and where it was reported. */
  constructor(value, site) {
    this.value = value;
    this.site = site;
  }
}

let inFlight = null; // fail(err) of the invocation running now: where uncaught exceptions go

function invoke(run, takesCallback) {
  /* run(cb) calls the algorithm's function with our callback; resolves or rejects (Reported) once. */
  let resolve;
  let reject;
  const settled = new Promise((yes, no) => {
    resolve = yes;
    reject = no;
  });
  let done = false;
  const succeed = (value) => {
    if (!done) {
      done = true;
      resolve(value);
    }
  };
  const fail = (value, site) => {
    if (done) return false;
    done = true;
    reject(new Reported(value, site));
    return true;
  };
  function callback(err, value) {
    if (err !== undefined && err !== null && err !== false) {
      const site = {};
      Error.captureStackTrace(site, callback);
      fail(err, site.stack);
    } else {
      succeed(value);
    }
  }
  inFlight = fail;
  let returned;
  try {
    returned = run(callback);
  } catch (thrown) {
    fail(thrown);
    return settled;
  }
  if (!takesCallback) {
    Promise.resolve(returned).then(succeed, (err) => fail(err)); // a value, a promise or a thenable
  } else if (returned instanceof Promise) {
    // An async function that also declares cb: its value, its rejection, or (undefined) its cb.
    returned.then((value) => {
      if (value !== undefined) succeed(value);
    }, (err) => fail(err));
  }
  // Whatever else a function declaring cb returns (a request object, the client's .then()) is not its answer.
  return settled;
}

function routeUncaught(err) {
  if (inFlight === null || !inFlight(err)) {
    fs.writeSync(2, `An exception nobody caught, outside a call: ${describe(err).stacktrace}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading the algorithm

function treeRoot(moduleFile) {
  /* The algorithm's checkout: src/<Name>.js lives one level below it. */
  const parent = path.dirname(moduleFile);
  return path.basename(parent) === 'src' ? path.dirname(parent) : parent;
}

class Algorithm {
  static async open(moduleFile) {
    let exported;
    try {
      exported = require(moduleFile);
    } catch (err) {
      if (!err || (err.code !== 'ERR_REQUIRE_ESM' && err.code !== 'ERR_REQUIRE_ASYNC_MODULE')) throw err;
      exported = await import(url.pathToFileURL(moduleFile).href); // an ES module ("type": "module")
    }
    if (exported && typeof exported.apply !== 'function' && exported.default && typeof exported.default.apply === 'function') {
      exported = exported.default;
    }
    if (!exported || typeof exported.apply !== 'function') {
      const shown = path.relative(treeRoot(moduleFile), moduleFile);
      throw new TypeError(`${shown} does not export a function apply(input, cb) (exports.apply = function(input, cb) {...})`);
    }
    return new Algorithm(exported);
  }

  constructor(exported) {
    this.exported = exported;
    this.applyFunc = exported.apply;
    this.loadFunc = typeof exported.load === 'function' ? exported.load : null;
    this.state = undefined;
  }

  async load() {
    if (this.loadFunc !== null) {
      const { loadFunc, exported } = this;
      this.state = await invoke((cb) => loadFunc.call(exported, cb), loadFunc.length >= 1);
    }
  }

  apply(input) {
    const { applyFunc, exported, state } = this;
    return invoke((cb) => applyFunc.call(exported, input, cb, state), applyFunc.length >= 2);
  }
}

// ---------------------------------------------------------------------------------------------
// The per-call API key

class CallKeys {
  /*
   * Each call brings a fresh session key; a warm worker must use the current one.
   *
   * ALGORITHMIA_API_KEY is set per call, which covers clients made inside apply. A client of the
   * official package made earlier (at require time, in load()) keeps the key it was made with, revoked
   * since: the client's apiKey answers with the current call's key whenever it holds one of ours. A key
   * the algorithm supplied itself is left alone. The package is the one the algorithm resolves (its
   * node_modules), patched before the algorithm is required: its clients keep apiKey as an own property,
   * so only clients made after the patch can follow the key.
   */
  constructor(fromDir) {
    this.ours = new Set();
    this.patchClient(fromDir);
  }

  enter(env) {
    const key = env.ALGORITHMIA_API_KEY;
    if (key) this.ours.add(key);
    for (const [name, value] of Object.entries(env)) process.env[name] = String(value);
  }

  patchClient(fromDir) {
    let lib;
    try {
      lib = require(require.resolve('algorithmia', { paths: [fromDir] }));
    } catch (err) {
      return; // not a dependency of this algorithm: nothing can hold an old key
    }
    if (typeof lib.client !== 'function') return;
    const proto = Object.getPrototypeOf(lib.client('probe', 'http://127.0.0.1'));
    if (!proto || Object.getOwnPropertyDescriptor(proto, 'apiKey')) return;
    const ours = this.ours;
    const stored = Symbol('apiKey');
    Object.defineProperty(proto, 'apiKey', {
      configurable: true,
      get() {
        const key = this[stored];
        const bare = typeof key === 'string' && key.startsWith('Simple ') ? key.slice(7) : key;
        const current = process.env.ALGORITHMIA_API_KEY;
        return ours.has(bare) && current ? `Simple ${current}` : key;
      },
      set(value) {
        this[stored] = value;
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Framing

class Channel {
  constructor(rfd, wfd) {
    this.wfd = wfd;
    this.chunks = [];
    this.have = 0;
    this.need = null; // [meta length, body length] once a header has been read
    this.frames = [];
    this.ended = false;
    this.waiter = null;
    const socket = new net.Socket({ fd: rfd, readable: true, writable: false });
    socket.on('data', (chunk) => {
      this.chunks.push(chunk);
      this.have += chunk.length;
      this.pump();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  take(n) {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    return all.subarray(0, n);
  }

  pump() {
    for (;;) {
      if (this.need === null) {
        if (this.have < HEADER_SIZE) return;
        const header = this.take(HEADER_SIZE);
        this.need = [header.readUInt32BE(0), header.readUInt32BE(4)];
      }
      const [metaLength, bodyLength] = this.need;
      if (this.have < metaLength + bodyLength) return;
      const data = this.take(metaLength + bodyLength);
      this.need = null;
      this.frames.push({ meta: JSON.parse(data.subarray(0, metaLength).toString('utf8')),
                         body: data.subarray(metaLength) });
      this.wake();
    }
  }

  wake() {
    if (this.waiter !== null) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter();
    }
  }

  async receive() {
    while (this.frames.length === 0 && !this.ended) {
      await new Promise((resolve) => { this.waiter = resolve; });
    }
    return this.frames.length ? this.frames.shift() : null;
  }

  send(meta, body = EMPTY) {
    const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
    const header = Buffer.alloc(HEADER_SIZE);
    header.writeUInt32BE(metaBytes.length, 0);
    header.writeUInt32BE(body.length, 4);
    let pending = Buffer.concat([header, metaBytes, body]);
    while (pending.length) {
      pending = pending.subarray(fs.writeSync(this.wfd, pending));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Serving

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeInput(contentType, body) {
  if (contentType === 'binary') return body;
  const text = strictUtf8.decode(body); // a TypeError for bytes that are not UTF-8
  return contentType === 'json' ? JSON.parse(text) : text; // a SyntaxError for bad JSON
}

function encodeResult(value) {
  if (Buffer.isBuffer(value)) return ['binary', value];
  if (ArrayBuffer.isView(value)) return ['binary', Buffer.from(value.buffer, value.byteOffset, value.byteLength)];
  if (value instanceof ArrayBuffer) return ['binary', Buffer.from(value)];
  if (typeof value === 'string') return ['text', Buffer.from(value, 'utf8')];
  const json = value === undefined ? undefined : JSON.stringify(value);
  return ['json', Buffer.from(json === undefined ? 'null' : json, 'utf8')];
}

function isInternalFrame(line) {
  return /^\s+at /.test(line) && (line.includes(__filename) || /[( ]node:internal\//.test(line));
}

function cleanStack(stack) {
  /* The algorithm's stack without our frames and node's own (the caller never wrote them). */
  return stack.split('\n').filter((line) => !isInternalFrame(line)).join('\n');
}

function describe(value, site) {
  /* message, stacktrace and error_type of whatever the algorithm threw or passed to cb. */
  let message;
  let stack = null;
  if (value instanceof Error || (value !== null && typeof value === 'object' && typeof value.message === 'string')) {
    message = String(value.message);
    stack = typeof value.stack === 'string' ? value.stack : null;
  } else if (typeof value === 'string') {
    message = value;
  } else if (value !== null && typeof value === 'object' && value.error && typeof value.error.message === 'string') {
    message = value.error.message; // an error body of the official client's API calls
  } else {
    try {
      message = JSON.stringify(value);
    } catch (err) {
      message = undefined;
    }
    if (message === undefined) message = String(value);
  }
  if (stack === null) {
    // A value that is not an Error has no stack of its own: where it was reported, if known.
    stack = site ? `${message}\n${site.split('\n').slice(1).join('\n')}` : message;
  }
  const errorType = value !== null && typeof value === 'object' && typeof value.error_type === 'string'
    ? value.error_type : null;
  return { message, stacktrace: cleanStack(stack), error_type: errorType };
}

function errorMeta(err, defaultType) {
  const error = err instanceof Reported ? describe(err.value, err.site) : describe(err);
  error.error_type = error.error_type || defaultType;
  return { type: 'error', error };
}

class StdoutCapture {
  /* fd 1 is an unlinked append-only file (see main): emptied before each call, read after it. */
  reset() {
    fs.ftruncateSync(1, 0);
  }

  read() {
    const size = fs.fstatSync(1).size;
    if (!size) return '';
    const buffer = Buffer.alloc(size);
    const got = fs.readSync(1, buffer, 0, size, 0);
    return buffer.subarray(0, got).toString('utf8');
  }
}

async function runCall(algorithm, meta, body, capture) {
  capture.reset();
  const started = process.hrtime.bigint();
  let reply;
  let out = EMPTY;
  let payload;
  try {
    payload = decodeInput(meta.content_type || 'text', body);
  } catch (err) {
    reply = errorMeta(err, 'InputError');
    reply.error.error_type = 'InputError';
    reply.input_error = true;
  }
  if (reply === undefined) {
    try {
      const [contentType, encoded] = encodeResult(await algorithm.apply(payload));
      reply = { type: 'result', content_type: contentType };
      out = encoded;
    } catch (err) {
      reply = errorMeta(err, 'AlgorithmError');
    } finally {
      inFlight = null;
    }
  }
  reply.duration = Number(process.hrtime.bigint() - started) / 1e9;
  if (meta.stdout) reply.stdout = capture.read();
  return [reply, out];
}

async function serve(args, channel, capture) {
  /* Load once, with the first call's environment (load() may use the API), then answer calls. */
  let request = await channel.receive();
  if (request === null) return;
  const keys = new CallKeys(path.dirname(args.moduleFile));
  keys.enter(request.meta.env || {});
  capture.reset();
  let algorithm;
  try {
    algorithm = await Algorithm.open(args.moduleFile);
    await algorithm.load();
  } catch (err) {
    const reply = errorMeta(err, 'AlgorithmError');
    reply.stdout = capture.read();
    reply.load_failed = true;
    channel.send(reply);
    return;
  } finally {
    inFlight = null;
  }
  channel.send({ type: 'ready', pid: process.pid });
  while (request !== null) {
    keys.enter(request.meta.env || {});
    const [reply, out] = await runCall(algorithm, request.meta, request.body, capture);
    channel.send(reply, out);
    request = await channel.receive();
  }
}

// ---------------------------------------------------------------------------------------------
// The process: descriptors, TLS, the parent

function privatePipes() {
  /*
   * Our pipes move to private descriptors (new opens of the same pipes); the algorithm gets /dev/null
   * as fd 0 and the capture file as fd 1. Without dup2, a closed descriptor is reused by the next open.
   */
  const rfd = fs.openSync('/proc/self/fd/0', 'r');
  const wfd = fs.openSync('/proc/self/fd/1', 'w');
  fs.closeSync(0);
  const nullFd = fs.openSync(os.devNull, 'r');
  fs.closeSync(1);
  const file = path.join(os.tmpdir(), `algo-stdout-${process.pid}-${Date.now()}`);
  const captureFd = fs.openSync(file, 'a+', 0o600);
  fs.unlinkSync(file);
  if (nullFd !== 0 || captureFd !== 1) {
    throw new Error(`could not take over fds 0 and 1 (got ${nullFd} and ${captureFd})`);
  }
  return [rfd, wfd];
}

function trustClusterCa() {
  /* With TLS, REQUESTS_CA_BUNDLE is the cluster's CA (PEM): every TLS client trusts it too, as
   * NODE_EXTRA_CA_CERTS would have made it (node reads that variable only when it starts). */
  const bundle = process.env.REQUESTS_CA_BUNDLE;
  if (!bundle || process.env.NODE_EXTRA_CA_CERTS === bundle) return;
  const pem = fs.readFileSync(bundle, 'utf8');
  const tls = require('tls');
  const createSecureContext = tls.createSecureContext;
  tls.createSecureContext = function (options, ...rest) {
    const context = createSecureContext.call(this, options, ...rest);
    if (!options || options.ca === undefined) context.context.addCACert(pem); // node's roots, and ours
    return context;
  };
  process.env.NODE_EXTRA_CA_CERTS = bundle; // for node processes the algorithm starts
}

function dieWithParent(parentPid) {
  /* A worker must never outlive the server, even a SIGKILLed one (node has no PR_SET_PDEATHSIG). */
  const killGroup = () => {
    try {
      process.kill(-process.pid, 'SIGKILL'); // the algorithm's own children go too (we lead our group)
    } catch (err) {
      process.kill(process.pid, 'SIGKILL');
    }
  };
  process.on('SIGTERM', killGroup);
  if (!parentPid) return;
  const check = () => {
    if (process.ppid !== parentPid) killGroup();
  };
  check(); // the server died before we started watching
  setInterval(check, PARENT_POLL_MS).unref();
}

function parseArgs(argv) {
  const args = { check: false, moduleFile: null, parentPid: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--check') args.check = true;
    else if (arg === '--module-file') args.moduleFile = argv[++i];
    else if (arg === '--parent-pid') args.parentPid = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!args.moduleFile) throw new Error('usage: runner.js [--check] --module-file PATH [--parent-pid N]');
  args.moduleFile = path.resolve(args.moduleFile); // before serving moves to the checkout
  return args;
}

async function checkMain(args) {
  /* Require the algorithm as a worker would (checkout as cwd), without calling load(). */
  process.chdir(treeRoot(args.moduleFile));
  try {
    await Algorithm.open(args.moduleFile);
  } catch (err) {
    fs.writeSync(2, `${errorMeta(err, 'AlgorithmError').error.stacktrace}\n`);
    return 1;
  }
  return 0;
}

async function serveMain(args) {
  const [rfd, wfd] = privatePipes();
  const channel = new Channel(rfd, wfd);
  dieWithParent(args.parentPid);
  process.chdir(treeRoot(args.moduleFile));
  process.on('uncaughtException', routeUncaught);
  process.on('unhandledRejection', routeUncaught);
  try {
    await serve(args, channel, new StdoutCapture());
  } catch (err) {
    if (err && err.code === 'EPIPE') return 0; // the server went away: nothing left to answer
    throw err;
  }
  return 0;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  trustClusterCa();
  // Exit explicitly: what the algorithm left running (timers, sockets) must not keep the worker up.
  (args.check ? checkMain(args) : serveMain(args)).then((code) => process.exit(code), (err) => {
    fs.writeSync(2, `runner.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
}

main();
