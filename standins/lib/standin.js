'use strict';
// Shared helpers for the Tyk stand-in programs (gateway and pump). No npm dependencies: this file is
// copied into the images next to the programs and must run on the bare node binary.
//  - logrus-style text logger (what real Tyk writes on stderr)
//  - a tiny RESP (Redis) client over `net`
//  - Go duration parsing, TYK_GW_/TYK_PMP_ env overrides, the baked-in version file

const fs = require('fs');
const net = require('net');

// ---------------------------------------------------------------------------------------------------------
// Logger: logrus TextFormatter with FullTimestamp and TimestampFormat "Jan 02 15:04:05", e.g.
//   time="Jul 17 20:58:27" level=info msg="Tyk API Gateway 5.3.0" prefix=main
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LEVELS = { debug: 5, info: 4, warning: 3, warn: 3, error: 2, fatal: 1, panic: 0 };

function pad2(n) {
  return String(n).padStart(2, '0');
}

function logTime(d = new Date()) {
  return `${MONTHS[d.getMonth()]} ${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

// logrus quotes a value unless it only has [A-Za-z0-9-._/@^+].
function logValue(v) {
  const s = typeof v === 'string' ? v : String(v);
  if (s !== '' && /^[A-Za-z0-9\-._/@^+]+$/.test(s)) return s;
  return JSON.stringify(s);
}

function createLogger(levelName) {
  let threshold = LEVELS.info;
  const setLevel = (name) => {
    const key = String(name || '').toLowerCase();
    threshold = key in LEVELS ? LEVELS[key] : LEVELS.info;
  };
  setLevel(levelName);
  const write = (level, msg, fields = {}) => {
    if (LEVELS[level] > threshold) return;
    const parts = [`time=${logValue(logTime())}`, `level=${level}`, `msg=${logValue(msg)}`];
    for (const key of Object.keys(fields).sort()) parts.push(`${key}=${logValue(fields[key])}`);
    // Synchronous on pipes and files on Linux, so nothing is lost when the process exits right after.
    process.stderr.write(parts.join(' ') + '\n');
  };
  return {
    setLevel,
    debug: (msg, f) => write('debug', msg, f),
    info: (msg, f) => write('info', msg, f),
    warn: (msg, f) => write('warning', msg, f),
    error: (msg, f) => write('error', msg, f),
    // logrus Fatal logs at any level above panic, then exits 1.
    fatal: (msg, f) => {
      write('fatal', msg, f);
      process.exit(1);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Go time.Duration: in JSON a number of nanoseconds; from env (envconfig) a string like "2s", "500ms", "1m30s".
const DURATION_UNITS = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

// Returns milliseconds, or null when the value cannot be parsed.
function parseGoDurationMs(value) {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value / 1e6 : null;
  const s = String(value).trim();
  if (/^-?\d+$/.test(s)) return Number(s) / 1e6; // plain integer: nanoseconds
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let sign = 1;
  let rest = s;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  re.lastIndex = 0;
  let matched = 0;
  let m;
  while ((m = re.exec(rest)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== rest.length) return null;
  return sign * total;
}

// ---------------------------------------------------------------------------------------------------------
// Config: JSON file plus env overrides. `overrides` maps env names (after the prefix) to a path in the
// config object and a type: { LISTENPORT: ['listen_port', 'int'], STORAGE_HOST: ['storage.host', 'string'] }.
function setPath(obj, dotted, value) {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k];
  }
  cur[keys[keys.length - 1]] = value;
}

function getPath(obj, dotted) {
  let cur = obj;
  for (const k of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[k];
  }
  return cur;
}

function applyEnvOverrides(conf, prefix, overrides, env = process.env) {
  for (const [name, [dotted, type]] of Object.entries(overrides)) {
    const raw = env[prefix + name];
    if (raw === undefined) continue;
    let value = raw;
    if (type === 'int') {
      value = Number.parseInt(raw, 10);
      if (!Number.isFinite(value)) continue;
    } else if (type === 'bool') {
      value = /^(1|t|true)$/i.test(raw);
    }
    setPath(conf, dotted, value);
  }
  return conf;
}

// The config path from argv: --conf=PATH or --conf PATH (also -conf, as Go's flag package allows).
function confPathFromArgv(argv, fallback) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--?conf(?:=(.*))?$/.exec(a);
    if (!m) continue;
    if (m[1] !== undefined) return m[1];
    if (i + 1 < argv.length) return argv[i + 1];
  }
  return fallback;
}

// Go's encoding/json errors, approximately: what matters is that the file is refused and the line says why.
function goJsonError(text, err) {
  if (!text.trim() || /Unexpected end of JSON input|Unterminated string/.test(err.message)) return 'unexpected end of JSON input';
  const m = /Unexpected token '?(.)'?/.exec(err.message);
  return m ? `invalid character '${m[1]}' looking for beginning of value` : `invalid character in JSON (${err.message})`;
}

// Go's names for a JSON value's type, as its unmarshal errors use them.
function goType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

// { value } or { error } with the error as Go words it.
function parseJson(text) {
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return { error: goJsonError(text, err) };
  }
}

// { conf, error, message }: error is 'missing' | 'unreadable' | 'invalid' | null; message as Go's os/json word it.
function readJsonConf(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return { conf: {}, error: 'missing', message: `open ${file}: no such file or directory` };
    return { conf: {}, error: 'unreadable', message: `open ${file}: ${err.code === 'EACCES' ? 'permission denied' : err.message}` };
  }
  const parsed = parseJson(text);
  if (parsed.error) return { conf: {}, error: 'invalid', message: parsed.error };
  const conf = parsed.value;
  if (conf === null || typeof conf !== 'object' || Array.isArray(conf)) {
    return { conf: {}, error: 'invalid', message: 'json: cannot unmarshal value into Go value of type config.Config' };
  }
  return { conf, error: null, message: '' };
}

// The version "compiled in": a JSON file baked into the image, {"version":"5.3.0","fault":null}.
function readVersionFile(file) {
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof data.version !== 'string' || !/^\d+\.\d+\.\d+/.test(data.version)) {
    throw new Error(`bad version in ${file}`);
  }
  return { version: data.version, fault: data.fault || null };
}

function versionAtLeast(version, major, minor, patch) {
  const [a, b, c] = version.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  if (a !== major) return a > major;
  if (b !== minor) return b > minor;
  return c >= patch;
}

// ---------------------------------------------------------------------------------------------------------
// RESP client. One connection; commands are pipelined and answered in order.
class RedisError extends Error {}

// Parses one RESP value from buf at offset. Returns { value, next } or null when incomplete.
function parseResp(buf, offset) {
  if (offset >= buf.length) return null;
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RedisError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return null;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, next);
        if (!item) return null;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new RedisError(`protocol error: unexpected byte ${JSON.stringify(type)}`);
  }
}

function encodeCommand(args) {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) {
    const s = String(a);
    parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
  }
  return parts.join('');
}

class RedisClient {
  // opts: { host, port, password, username, timeoutMs }
  constructor(opts) {
    this.opts = opts;
    this.socket = null;
    this.pending = [];
    this.buf = Buffer.alloc(0);
    this.closed = false;
  }

  // Connects and authenticates (AUTH only when a password is set). Rejects on failure.
  async connect() {
    const { host = '127.0.0.1', port = 6379, timeoutMs = 2000 } = this.opts;
    await new Promise((resolve, reject) => {
      const socket = net.createConnection({ host, port });
      this.socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`dial tcp ${host}:${port}: i/o timeout`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`dial tcp ${host}:${port}: ${describeSocketError(err)}`));
      });
    });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (err) => this.failAll(err));
    this.socket.on('close', () => {
      this.closed = true;
      this.failAll(new Error('redis: connection closed'));
    });
    const { password, username } = this.opts;
    if (password) {
      await (username ? this.command('AUTH', username, password) : this.command('AUTH', password));
    }
    return this;
  }

  onData(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      let parsed;
      try {
        parsed = parseResp(this.buf, offset);
      } catch (err) {
        this.failAll(err);
        this.socket.destroy();
        return;
      }
      if (!parsed) break;
      offset = parsed.next;
      const waiter = this.pending.shift();
      if (!waiter) continue;
      if (parsed.value instanceof RedisError) waiter.reject(parsed.value);
      else waiter.resolve(parsed.value);
    }
    this.buf = this.buf.subarray(offset);
  }

  failAll(err) {
    const waiters = this.pending;
    this.pending = [];
    for (const w of waiters) w.reject(err);
  }

  command(...args) {
    if (!this.socket || this.closed) return Promise.reject(new Error('redis: not connected'));
    const timeoutMs = this.opts.timeoutMs ?? 2000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('redis: i/o timeout'));
        this.socket.destroy();
      }, timeoutMs);
      this.pending.push({
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(encodeCommand(args));
    });
  }

  close() {
    this.closed = true;
    if (this.socket) this.socket.destroy();
  }
}

function describeSocketError(err) {
  switch (err && err.code) {
    case 'ECONNREFUSED':
      return 'connect: connection refused';
    case 'ETIMEDOUT':
      return 'i/o timeout';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'lookup: no such host';
    default:
      return (err && err.message) || String(err);
  }
}

// Opens a connection, runs fn(client), closes it. Any failure rejects.
async function withRedis(opts, fn) {
  const client = new RedisClient(opts);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.close();
  }
}

module.exports = {
  createLogger,
  parseGoDurationMs,
  applyEnvOverrides,
  confPathFromArgv,
  readJsonConf,
  goType,
  parseJson,
  readVersionFile,
  versionAtLeast,
  getPath,
  RedisClient,
  withRedis,
  parseResp,
  encodeCommand,
};
