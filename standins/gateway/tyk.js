#!/usr/bin/node
'use strict';
// Tyk Gateway stand-in. Behaves like the real gateway where the upgrade tool can see it (see
// /work/shared/tyk-contract.md): --conf=PATH JSON + TYK_GW_ env overrides, GET /hello with the
// liveness warm-up and cached Redis check, GET /ready on 5.8.3+, logrus text logs on stderr, the Redis key
// version-check-gateway, and the version-dependent SIGTERM behaviour (cut before 5.8.3, drain from 5.8.3).
// The version is "compiled in": it comes from .standin.json next to this program, never from the env.

const fs = require('fs');
const path = require('path');
const http = require('http');

function loadLib() {
  const candidates = [path.join(__dirname, '..', 'lib', 'standin.js'), '/opt/tyk-standin/standin.js'];
  for (const c of candidates) if (fs.existsSync(c)) return require(c);
  throw new Error('standin.js not found');
}
const lib = loadLib();

const DEFAULT_CONF = '/opt/tyk-gateway/tyk.conf';
const REDIS_FAIL_OUTPUT = 'storage: Redis is either down or was not configured';

// Env names as Tyk's envconfig derives them (TYK_GW_ + field path, upper case, no underscores in a field).
const ENV_OVERRIDES = {
  LISTENADDRESS: ['listen_address', 'string'],
  LISTENPORT: ['listen_port', 'int'],
  CONTROLAPIHOSTNAME: ['control_api_hostname', 'string'],
  CONTROLAPIPORT: ['control_api_port', 'int'],
  SECRET: ['secret', 'string'],
  NODESECRET: ['node_secret', 'string'],
  HEALTHCHECKENDPOINTNAME: ['health_check_endpoint_name', 'string'],
  STORAGE_TYPE: ['storage.type', 'string'],
  STORAGE_HOST: ['storage.host', 'string'],
  STORAGE_PORT: ['storage.port', 'int'],
  STORAGE_USERNAME: ['storage.username', 'string'],
  STORAGE_PASSWORD: ['storage.password', 'string'],
  STORAGE_DATABASE: ['storage.database', 'int'],
  LOGLEVEL: ['log_level', 'string'],
  LIVENESSCHECK_CHECKDURATION: ['liveness_check.check_duration', 'duration'],
  GRACEFULSHUTDOWNTIMEOUTDURATION: ['graceful_shutdown_timeout_duration', 'int'],
  APPPATH: ['app_path', 'string'],
  MIDDLEWAREPATH: ['middleware_path', 'string'],
};

// ---------------------------------------------------------------------------------------------------------
const standin = lib.readVersionFile(path.join(__dirname, '.standin.json'));
const REAL_VERSION = standin.version; // drives version-dependent behaviour
const FAULT = standin.fault; // null | 'hello-fail' | 'exit-at-start' | 'wrong-version'
const VERSION = FAULT === 'wrong-version' ? '5.1.0' : REAL_VERSION; // what the gateway reports

function parseVersion(v) {
  const [a, b, c] = v.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  return { major: a, minor: b, patch: c };
}
const V = parseVersion(REAL_VERSION);
// /ready and graceful drain: 5.8.3+ on the 5.8 line, and 5.9.0+.
const HAS_READY = (V.major === 5 && V.minor === 8 && V.patch >= 3) || lib.versionAtLeast(REAL_VERSION, 5, 9, 0);
const GRACEFUL_SHUTDOWN = HAS_READY;
// /hello answers 503 when failing only in 5.8.3, 5.8.6-5.8.12 and 5.9.0; 200 everywhere else.
const HELLO_503 = V.major === 5 && ((V.minor === 8 && (V.patch === 3 || (V.patch >= 6 && V.patch <= 12))) || (V.minor === 9 && V.patch === 0));

// ---------------------------------------------------------------------------------------------------------
const confFile = lib.confPathFromArgv(process.argv.slice(2), DEFAULT_CONF);
const loaded = lib.readJsonConf(confFile);
const conf = loaded.conf;
// Durations from env are strings ("2s"); keep them as-is and parse below.
lib.applyEnvOverrides(conf, 'TYK_GW_', ENV_OVERRIDES);
if (process.env.TYK_LOGLEVEL && !process.env.TYK_GW_LOGLEVEL) conf.log_level = process.env.TYK_LOGLEVEL;

const log = lib.createLogger(conf.log_level || 'info');
const main = { prefix: 'main' };

const storage = conf.storage || {};
const redisOpts = {
  host: storage.host || '127.0.0.1',
  port: Number(storage.port) || 6379,
  username: storage.username || undefined,
  password: storage.password || undefined,
  timeoutMs: 1000,
};
const listenAddress = conf.listen_address || '';
const listenPort = Number(conf.listen_port) || 8080;
let controlPort = Number(conf.control_api_port) || 0;
if (controlPort === listenPort) controlPort = 0;
const controlHost = conf.control_api_hostname || listenAddress;
const healthName = String(conf.health_check_endpoint_name || 'hello').replace(/^\/+/, '') || 'hello';
let checkMs = lib.parseGoDurationMs(conf.liveness_check && conf.liveness_check.check_duration);
if (!checkMs || checkMs <= 0) checkMs = 10000;
let gracefulSeconds = Number(conf.graceful_shutdown_timeout_duration) || 0;
if (gracefulSeconds <= 0) gracefulSeconds = 30;
const appPath = conf.app_path || '/opt/tyk-gateway/apps/';

// ---------------------------------------------------------------------------------------------------------
// Start-up log, like the real gateway.
log.info(`Tyk API Gateway ${VERSION}`, main);
if (loaded.error === 'missing') {
  log.error(`Error loading config, using defaults: open ${confFile}: no such file or directory`, main);
} else if (loaded.error === 'invalid') {
  log.fatal(`Error loading config: invalid character in ${confFile}`, main);
}

if (FAULT === 'exit-at-start') {
  log.fatal('Error starting gateway: failed to initialise the storage handler (stand-in fault exit-at-start)', main);
}

log.info('Starting Poller', { prefix: 'host-check-mgr' });

let versionKeyWritten = false;
async function writeVersionKey() {
  await lib.withRedis(redisOpts, async (c) => {
    await c.command('PING');
    await c.command('SET', 'version-check-gateway', VERSION);
  });
  versionKeyWritten = true;
}

// ---------------------------------------------------------------------------------------------------------
// Liveness: the result is cached and refreshed every check_duration; before the first check runs,
// /hello has no details and says pass (the warm-up).
let health = null; // { status, item }
let checkRunning = false;

async function runHealthCheck() {
  if (checkRunning) return;
  checkRunning = true;
  let ok = false;
  try {
    await lib.withRedis(redisOpts, (c) => c.command('PING'));
    ok = true;
  } catch {
    ok = false;
  }
  checkRunning = false;
  if (FAULT === 'hello-fail') ok = false;
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const item = ok ? { status: 'pass', componentType: 'datastore', time } : { status: 'fail', output: REDIS_FAIL_OUTPUT, componentType: 'datastore', time };
  if (!ok && (!health || health.status === 'pass')) {
    log.warn('Redis health check failed', { liveness_check: true, prefix: 'main' });
  }
  health = { status: ok ? 'pass' : 'fail', item };
  if (ok && !versionKeyWritten) writeVersionKey().catch(() => {});
}

function helloBody() {
  const body = { status: 'pass', version: VERSION, description: 'Tyk GW' };
  if (health) {
    body.status = health.status;
    body.details = { redis: health.item };
  }
  return body;
}

async function redisReachable() {
  try {
    await lib.withRedis({ ...redisOpts, timeoutMs: 500 }, (c) => c.command('PING'));
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
let shuttingDown = false;

function writeJson(res, code, obj) {
  const text = JSON.stringify(obj) + '\n'; // Go's json.Encoder adds the newline
  const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) };
  if (shuttingDown) headers.Connection = 'close';
  res.writeHead(code, headers);
  res.end(text);
}

function methodNotAllowed(res) {
  writeJson(res, 405, { status: 'error', message: 'Method Not Allowed' });
}

function makeHandler(role) {
  const servesHealth = controlPort ? role === 'control' : role === 'main';
  return (req, res) => {
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch {
      return writeJson(res, 400, { error: 'Bad Request' });
    }
    const p = url.pathname;
    if (servesHealth && p === `/${healthName}`) {
      if (req.method !== 'GET') return methodNotAllowed(res);
      const body = helloBody();
      return writeJson(res, body.status === 'fail' && HELLO_503 ? 503 : 200, body);
    }
    if (servesHealth && HAS_READY && p === '/ready') {
      if (req.method !== 'GET') return methodNotAllowed(res);
      redisReachable().then((ok) => {
        if (ok) writeJson(res, 200, { status: 'pass', description: 'Tyk GW Ready' });
        else writeJson(res, 503, { status: 'error', message: 'Redis connection not available' });
      });
      return undefined;
    }
    if (role === 'main' && p === '/__standin/slow') {
      const ms = Math.max(0, Math.min(Number(url.searchParams.get('ms')) || 0, 600000));
      setTimeout(() => {
        if (res.destroyed) return;
        const headers = { 'Content-Type': 'text/plain', 'Content-Length': 5 };
        if (shuttingDown) headers.Connection = 'close';
        res.writeHead(200, headers);
        res.end('done\n');
      }, ms);
      return undefined;
    }
    return writeJson(res, 404, { error: 'Not found' });
  };
}

const servers = [];

function listen(role, port, host) {
  return new Promise((resolve) => {
    const server = http.createServer(makeHandler(role));
    server.keepAliveTimeout = 120000; // Go's default idle timeout is long; keep connections like Tyk does
    server.on('error', (err) => {
      log.fatal(`Error starting gateway: listen tcp ${host || ''}:${port}: ${err.code === 'EADDRINUSE' ? 'bind: address already in use' : err.message}`, main);
    });
    log.info('--> Standard listener (http)', { port: `:${port}`, prefix: 'main' });
    server.listen({ port, host: host || undefined }, () => {
      log.warn(`Starting HTTP server on:${host ? host : '[::]'}:${port}`, main);
      servers.push(server);
      resolve(server);
    });
  });
}

function loadApis() {
  let files = [];
  try {
    files = fs
      .readdirSync(appPath)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    log.error(`Couldn't read API definitions from ${appPath}`, main);
  }
  for (const f of files) log.info(`Loading API Specification from ${path.join(appPath, f)}`);
  log.info(`Detected ${files.length} APIs`, main);
  if (files.length === 0) {
    log.warn('No API Definitions found, not reloading', main);
    return;
  }
  log.info('Loading API configurations.', main);
  log.info('Initialising Tyk REST API Endpoints', main);
  log.info('API reload complete', main);
}

async function start() {
  log.info('PIDFile location set to: ./tyk-gateway.pid', main);
  log.info('Initialising Tyk REST API Endpoints', main);
  log.info('--> [REDIS] Creating single-node client');
  try {
    await writeVersionKey();
    log.info('Connected to Redis', { prefix: 'storage' });
  } catch (err) {
    log.error('Connection to Redis failed, reconnect in 10s', { error: err.message, prefix: 'pub-sub' });
  }
  if (controlPort) await listen('control', controlPort, controlHost);
  await listen('main', listenPort, listenAddress);
  log.info('Initialising distributed rate limiter', main);
  log.info(`Tyk Gateway started (${VERSION})`, main);
  log.info(`--> Listening on address: ${listenAddress || '(open interface)'}`, main);
  log.info(`--> Listening on port: ${listenPort}`, main);
  log.info(`--> PID: ${process.pid}`, main);
  log.info('Starting gateway rate limiter notifications...');
  log.info('Loading policies', main);
  log.info('Policies found (0 total):', main);
  loadApis();

  setTimeout(() => {
    runHealthCheck();
    setInterval(runHealthCheck, checkMs).unref();
  }, checkMs).unref();
}

// ---------------------------------------------------------------------------------------------------------
function shutdown() {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info('Stop signal received.', main);
  if (!GRACEFUL_SHUTDOWN) {
    // Up to 5.8.2: listeners are closed, in-flight requests are not drained.
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
    log.info('Terminating.', main);
    process.exit(0);
  }
  log.info(`Gracefully shutting down HTTP servers, timeout ${gracefulSeconds}s`, main);
  let open = servers.length;
  const done = () => {
    log.info('All HTTP servers shut down.', main);
    log.info('Terminating.', main);
    process.exit(0);
  };
  if (open === 0) done();
  for (const s of servers) {
    s.close(() => {
      open -= 1;
      if (open === 0) done();
    });
  }
  // Idle keep-alive connections are closed; busy ones are closed once their response is written.
  const idle = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), 50);
  idle.unref();
  setTimeout(() => {
    log.error('Graceful shutdown timed out, closing remaining connections', main);
    for (const s of servers) s.closeAllConnections();
    log.info('Terminating.', main);
    process.exit(0);
  }, gracefulSeconds * 1000).unref();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

start().catch((err) => log.fatal(`Error starting gateway: ${err.message}`, main));
