#!/usr/bin/node
'use strict';
// Tyk Gateway stand-in. Behaves like the real gateway of its version where the upgrade tool can see it, as measured
// on the real binaries (test/contract.test.ts runs the same probes on both): --conf=PATH JSON + TYK_GW_ env
// overrides, GET /hello with the liveness warm-up and cached Redis check, GET /ready on 5.8.3+, logrus text logs on
// stderr, the API definitions and policies from files, the Gateway API and the proxy (../lib/apis.js), the Redis key
// version-check-gateway (5.8+), and the version-dependent SIGTERM behaviour (cut before 5.8.3, drain from 5.8.3).
// The version is "compiled in": it comes from .standin.json next to this program, never from the env.

const fs = require('fs');
const path = require('path');
const http = require('http');

function loadLib(name) {
  const candidates = [path.join(__dirname, '..', 'lib', name), path.join('/opt/tyk-standin', name)];
  for (const c of candidates) if (fs.existsSync(c)) return require(c);
  throw new Error(`${name} not found`);
}
const lib = loadLib('standin.js');
const { createApis } = loadLib('apis.js');

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
// null | 'hello-fail' | 'exit-at-start' | 'wrong-version' | 'drops-api'
const FAULT = standin.fault;
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
// Up to 5.3, liveness_check.check_duration is read as seconds (time.Second * n); later as a Go duration (ns):
// TykTechnologies/tyk#6068. Seen on the real 5.2.0/5.3.0 (seconds) and 5.8.10 (ns); the line in between is assumed.
const CHECK_IN_SECONDS = !lib.versionAtLeast(REAL_VERSION, 5, 4, 0);
// 5.8 connects to Redis before it listens (and writes version-check-gateway then); 5.2/5.3 connect in the
// background and never write the key. Seen on 5.2.0, 5.3.0 and 5.8.10; 5.8.0 is assumed.
const REDIS_AT_START = lib.versionAtLeast(REAL_VERSION, 5, 8, 0);
// 5.2 lists a definition it cannot parse as an empty one; 5.3 leaves it out.
const VERSION_BEFORE_53 = !lib.versionAtLeast(REAL_VERSION, 5, 3, 0);

// ---------------------------------------------------------------------------------------------------------
const confFile = lib.confPathFromArgv(process.argv.slice(2), DEFAULT_CONF);
const loaded = lib.readJsonConf(confFile);
const conf = loaded.conf;
// A Go duration in the file must be a number; a string does not unmarshal.
const fileCheckDuration = conf.liveness_check && conf.liveness_check.check_duration;
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
const readyName = String(conf.readiness_check_endpoint_name || 'ready').replace(/^\/+/, '') || 'ready';
let gracefulSeconds = Number(conf.graceful_shutdown_timeout_duration) || 0;
if (gracefulSeconds <= 0) gracefulSeconds = 30;

/** The liveness interval in ms as the real gateway of this version reads the setting; Infinity = never. */
function checkIntervalMs() {
  const raw = conf.liveness_check && conf.liveness_check.check_duration;
  // From the file a number of ns; from env (envconfig) a Go duration string.
  const ns = typeof raw === 'number' ? raw : typeof raw === 'string' ? (lib.parseGoDurationMs(raw) ?? 0) * 1e6 : 0;
  if (!ns || ns <= 0) return 10_000;
  const ms = CHECK_IN_SECONDS ? ns * 1000 : ns / 1e6;
  // A ticker of a few ns runs checks back to back; one every 50 ms looks the same from outside.
  return Math.max(ms, 50);
}
const checkMs = checkIntervalMs();

// ---------------------------------------------------------------------------------------------------------
// Start-up log, like the real gateway.
if (loaded.error === 'invalid' && !VERSION_BEFORE_53) log.error(`Error loading config, using defaults: couldn't unmarshal config: ${loaded.message}`, main);
log.info(`Tyk API Gateway ${VERSION}`, main);
if (loaded.error === 'invalid') log.fatal(`Error initialising system: couldn't unmarshal config: ${loaded.message}`, main);
if (typeof fileCheckDuration === 'string') {
  log.fatal(
    `Error initialising system: couldn't unmarshal config: json: cannot unmarshal string into Go struct field LivenessCheckConfig.liveness_check.check_duration of type time.Duration`,
    main,
  );
}
if (loaded.error) log.warn(`No config file found, writing default to ${confFile}`);

if (FAULT === 'exit-at-start') {
  log.fatal('Error starting gateway: failed to initialise the storage handler (stand-in fault exit-at-start)', main);
}

// html/template.Must(ParseGlob(template_path/error*)) panics when nothing matches (Go exits 2 on a panic).
const templatePath = conf.template_path || '';
let hasErrorTemplate = false;
try {
  hasErrorTemplate = fs.readdirSync(templatePath || '.').some((f) => f.startsWith('error'));
} catch {
  hasErrorTemplate = false;
}

async function writeVersionKey() {
  await lib.withRedis(redisOpts, (c) => c.command('SET', 'version-check-gateway', VERSION));
}

// ---------------------------------------------------------------------------------------------------------
// Liveness: the result is cached and refreshed every check_duration; before the first check runs,
// /hello has no details and says pass (the warm-up).
let health = null; // { status, item }
let checkRunning = false;
// Tyk's own sentence (the real 5.8 sometimes gives the client's dial error instead, when it notices the lost
// connection later than its check runs).
async function redisPing() {
  try {
    await lib.withRedis(redisOpts, (c) => c.command('PING'));
    return null;
  } catch {
    return REDIS_FAIL_OUTPUT;
  }
}

async function runHealthCheck() {
  if (checkRunning) return;
  checkRunning = true;
  let failure = await redisPing();
  checkRunning = false;
  if (FAULT === 'hello-fail') failure = REDIS_FAIL_OUTPUT;
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const item = failure ? { status: 'fail', output: failure, componentType: 'datastore', time } : { status: 'pass', componentType: 'datastore', time };
  if (failure && (!health || health.status === 'pass')) {
    log.error('Redis health check failed', { error: failure, 'liveness-check': true, prefix: 'main' });
  }
  health = { status: failure ? 'fail' : 'pass', item };
}

function helloBody(description) {
  const body = { status: 'pass', version: VERSION, description };
  if (health) {
    body.status = health.status;
    body.details = { redis: health.item };
  }
  return body;
}

// ---------------------------------------------------------------------------------------------------------
let shuttingDown = false;
const closeHeader = () => (shuttingDown ? { Connection: 'close' } : {});

function writeJson(res, code, obj) {
  const text = JSON.stringify(obj) + '\n'; // Go's json.Encoder adds the newline
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...closeHeader() });
  res.end(text);
}

function methodNotAllowed(res) {
  writeJson(res, 405, { status: 'error', message: 'Method Not Allowed' });
}

let apis = null; // set once the definitions are loaded

// some-5xx: every 4th request on the listen port (an API or the slow endpoint) answers 500; /hello and the Gateway
// API are never touched, so it passes every health check and only real traffic shows it.
let servedRequests = 0;
function someFault() {
  if (FAULT !== 'some-5xx') return false;
  servedRequests += 1;
  return servedRequests % 4 === 0;
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
      const body = helloBody('Tyk GW');
      return writeJson(res, body.status === 'fail' && HELLO_503 ? 503 : 200, body);
    }
    if (servesHealth && HAS_READY && p === `/${readyName}`) {
      if (req.method !== 'GET') return methodNotAllowed(res);
      // The cached check when there is one; before it, whether the gateway holds a Redis connection.
      const ready = (ok) =>
        ok ? writeJson(res, 200, helloBody('Tyk GW Ready')) : writeJson(res, 503, { status: 'error', message: 'Redis connection not available' });
      if (health) ready(health.status === 'pass');
      else redisPing().then((failure) => ready(!failure));
      return undefined;
    }
    if (servesHealth && apis && apis.handleGatewayApi(req, res, url)) return undefined;
    if (role === 'main' && someFault()) {
      // The faulty image some-5xx: a build that is healthy and loads everything, yet fails some real requests.
      req.resume();
      const text = 'stand-in fault some-5xx\n';
      res.writeHead(500, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text), ...closeHeader() });
      res.end(text);
      return undefined;
    }
    if (role === 'main' && p === '/__standin/slow') {
      const ms = Math.max(0, Math.min(Number(url.searchParams.get('ms')) || 0, 600000));
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 5, ...closeHeader() });
        res.end('done\n');
      }, ms);
      return undefined;
    }
    if (role === 'main' && apis && apis.handleProxy(req, res, url)) return undefined;
    // The real proxy mux: 404 and the status text, no newline.
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 9, ...closeHeader() });
    res.end('Not Found');
    return undefined;
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
    log.info('--> Standard listener (http)', { port: `${host || ''}:${port}`, prefix: 'main' });
    server.listen({ port, host: host || undefined }, () => {
      log.warn(`Starting HTTP server on:${host ? host : '[::]'}:${port}`, main);
      servers.push(server);
      resolve(server);
    });
  });
}

// The faulty image drops-api: a definition with the field "standin_unsupported" is refused the way a version that
// changed a field's type refuses it (it does not unmarshal), so the API is missing after an upgrade.
function refuse(def) {
  if (FAULT !== 'drops-api' || !Object.prototype.hasOwnProperty.call(def, 'standin_unsupported')) return null;
  return `json: cannot unmarshal ${lib.goType(def.standin_unsupported)} into Go struct field APIDefinition.standin_unsupported of type apidef.StandinUnsupported`;
}

async function start() {
  // Real Tyk starts its liveness ticker in initSystem, before the version write, the API load and the listener: on a
  // slow start the first /hello can already carry details.
  if (Number.isFinite(checkMs) && checkMs < 2 ** 31) {
    setTimeout(() => {
      runHealthCheck();
      setInterval(runHealthCheck, checkMs).unref();
    }, checkMs).unref();
  }
  if (REDIS_AT_START) {
    if (await redisPing()) {
      log.error('storage: Redis is either down or was not configured');
      log.error('Could not set version in versionStore', { error: REDIS_FAIL_OUTPUT, prefix: 'main' });
      // 5.8 waits about a second for Redis before it goes on without it.
      await new Promise((r) => setTimeout(r, 1000));
    } else {
      log.info('storage: connected to redis', main);
      await writeVersionKey().catch(() => {});
    }
  } else {
    log.error('Could not set version in versionStore', { error: REDIS_FAIL_OUTPUT, prefix: 'main' });
  }
  log.info('Starting Poller', { prefix: 'host-check-mgr' });
  if (!hasErrorTemplate) {
    process.stderr.write(`panic: html/template: pattern matches no files: \`error*\`\n\ngoroutine 1 [running]:\n`);
    process.exit(2);
  }
  log.info(`PIDFile location set to: ${conf.pid_file_location || './tyk-gateway.pid'}`, main);
  if (!controlPort) log.warn('The control_api_port should be changed for production', main);
  log.info('Initialising Tyk REST API Endpoints', main);
  if (controlPort) await listen('control', controlPort, controlHost);
  await listen('main', listenPort, listenAddress);
  log.info('Initialising distributed rate limiter', main);
  log.info(`Tyk Gateway started (${VERSION})`, main);
  log.info(`--> Listening on address: ${listenAddress || '(open interface)'}`, main);
  log.info(`--> Listening on port: ${listenPort}`, main);
  log.info(`--> PID: ${process.pid}`, main);
  if (!REDIS_AT_START) log.error('Connection to Redis failed, reconnect in 10s', { error: REDIS_FAIL_OUTPUT, prefix: 'pub-sub' });
  log.info('Starting gateway rate limiter notifications...');
  apis = createApis({ conf, log, versionBefore53: VERSION_BEFORE_53, refuse, headers: closeHeader });
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
