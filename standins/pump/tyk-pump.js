#!/usr/bin/node
'use strict';
// Tyk Pump stand-in, as the real pump 1.9.0 / 1.12.2 behaves (test/contract.test.ts runs the same probes on both):
// --conf=PATH JSON + TYK_PMP_ env overrides (an unreadable or unparsable file: an error line, then the defaults),
// GET /health that does not check Redis, the fatal exits at start (no pumps configured; the uptime pump without a
// MongoDB when dont_purge_uptime_data is not true), Redis key version-check-pump, the list
// analytics-tyk-system-analytics drained every purge_delay, an error line per failed purge while Redis is away
// (it keeps running), clean SIGTERM. The version is "compiled in": .standin.json next to this program.

const fs = require('fs');
const path = require('path');
const http = require('http');

function loadLib() {
  const candidates = [path.join(__dirname, '..', 'lib', 'standin.js'), '/opt/tyk-standin/standin.js'];
  for (const c of candidates) if (fs.existsSync(c)) return require(c);
  throw new Error('standin.js not found');
}
const lib = loadLib();

const DEFAULT_CONF = '/opt/tyk-pump/pump.conf';
const ANALYTICS_KEY = 'analytics-tyk-system-analytics';

const ENV_OVERRIDES = {
  ANALYTICSSTORAGETYPE: ['analytics_storage_type', 'string'],
  ANALYTICSSTORAGECONFIG_TYPE: ['analytics_storage_config.type', 'string'],
  ANALYTICSSTORAGECONFIG_HOST: ['analytics_storage_config.host', 'string'],
  ANALYTICSSTORAGECONFIG_PORT: ['analytics_storage_config.port', 'int'],
  ANALYTICSSTORAGECONFIG_USERNAME: ['analytics_storage_config.username', 'string'],
  ANALYTICSSTORAGECONFIG_PASSWORD: ['analytics_storage_config.password', 'string'],
  ANALYTICSSTORAGECONFIG_DATABASE: ['analytics_storage_config.database', 'int'],
  PURGEDELAY: ['purge_delay', 'int'],
  HEALTHCHECKENDPOINTNAME: ['health_check_endpoint_name', 'string'],
  HEALTHCHECKENDPOINTPORT: ['health_check_endpoint_port', 'int'],
  LOGLEVEL: ['log_level', 'string'],
};

const standin = lib.readVersionFile(path.join(__dirname, '.standin.json'));
const VERSION = standin.version;

const confFile = lib.confPathFromArgv(process.argv.slice(2), DEFAULT_CONF);
const loaded = lib.readJsonConf(confFile);
const conf = loaded.conf;
lib.applyEnvOverrides(conf, 'TYK_PMP_', ENV_OVERRIDES);
if (process.env.TYK_LOGLEVEL && !process.env.TYK_PMP_LOGLEVEL) conf.log_level = process.env.TYK_LOGLEVEL;

const log = lib.createLogger(conf.log_level || 'info');
const main = { prefix: 'main' };

// The real pump says so and goes on with its defaults (and the env).
if (loaded.error === 'missing' || loaded.error === 'unreadable') {
  log.error(`Couldn't load configuration file: ${loaded.message}`);
  log.error("Couldn't unmarshal configuration: unexpected end of JSON input");
} else if (loaded.error === 'invalid') {
  log.error(`Couldn't unmarshal configuration: ${loaded.message}`);
}

const store = conf.analytics_storage_config || {};
const redisOpts = {
  host: store.host || '127.0.0.1',
  port: Number(store.port) || 6379,
  username: store.username || undefined,
  password: store.password || undefined,
  timeoutMs: 2000,
};
const healthName = String(conf.health_check_endpoint_name || 'health').replace(/^\/+/, '') || 'health';
const healthPort = Number(conf.health_check_endpoint_port) || 8083;
let purgeDelay = Number(conf.purge_delay);
if (!Number.isFinite(purgeDelay) || purgeDelay <= 0) purgeDelay = 10;
const pumps = conf.pumps && typeof conf.pumps === 'object' ? Object.entries(conf.pumps).map(([name, p]) => String((p && p.type) || name)) : [];
const pumpName = (type) => `${type.charAt(0).toUpperCase()}${type.slice(1)} Pump`;

log.info(`## Tyk Pump, ${VERSION} ##`, main);

let client = null;
let purging = false;

async function connect() {
  if (!client || client.closed) client = await new lib.RedisClient(redisOpts).connect();
  return client;
}

// Returns false when Redis could not be reached (the loop then comes back sooner, as the real one does).
async function purge() {
  if (purging) return true;
  purging = true;
  try {
    const c = await connect();
    await c.command('MULTI');
    await c.command('LRANGE', ANALYTICS_KEY, 0, -1);
    await c.command('DEL', ANALYTICS_KEY);
    const [records] = await c.command('EXEC');
    const n = Array.isArray(records) ? records.length : 0;
    if (n > 0) for (const type of pumps) log.info(`Purged ${n} records...`, { prefix: `${type}-pump` });
    return true;
  } catch (err) {
    if (client) client.close();
    client = null;
    log.error(`Error on Purge Loop. Is Temporal Storage down?: ${err.message}`, main);
    return false;
  } finally {
    purging = false;
  }
}

function serveHealth() {
  const server = http.createServer((req, res) => {
    const p = req.url.split('?')[0];
    if (p === `/${healthName}`) {
      const body = '{"status": "ok"}';
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end('404 page not found\n');
  });
  server.on('error', (err) => log.fatal(`Error serving health check endpoint: ${err.message}`, main));
  server.listen({ port: healthPort });
  log.info(`Serving health check endpoint at http://localhost:${healthPort}/${healthName} ...`, { prefix: 'server' });
}

async function start() {
  serveHealth();
  try {
    await (await connect()).command('SET', 'version-check-pump', VERSION);
  } catch (err) {
    client = null;
    log.error(`Error trying to set value: ${err.message}`);
    log.error(`Error storing version: ${err.message}`, main);
  }
  for (const type of pumps) {
    log.info(`${pumpName(type)} Initialized`, { prefix: `${type}-pump` });
    log.info(`Init Pump: ${type.toUpperCase()}`, main);
  }
  if (pumps.length === 0) log.fatal('No pumps configured', main);
  if (conf.dont_purge_uptime_data !== true) {
    // The uptime pump is MongoDB by default, and there is none here (nor a connection string to one).
    log.info("'dont_purge_uptime_data' set to false, attempting to start Uptime pump! ", main);
    log.info('Init', { collection_name: '', prefix: 'mongo-pump', url: '' });
    log.fatal("Failed to connect: can't connect without connection string", { prefix: 'mongo-pump' });
  }
  log.info(`Starting purge loop @${purgeDelay}, chunk size 0`, main);
  const loop = async () => {
    const ok = await purge();
    setTimeout(loop, ok ? purgeDelay * 1000 : 200);
  };
  setTimeout(loop, purgeDelay * 1000);
}

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  log.info(`Shutting down ${pumps.length} pumps...`, main);
  const guard = setTimeout(() => process.exit(0), 3000);
  guard.unref();
  try {
    await purge();
  } catch {
    // best effort
  }
  if (client) client.close();
  for (const type of pumps) log.info(`${pumpName(type)} gracefully stopped.`, main);
  log.info('Tyk-pump stopped.', main);
  process.exit(0);
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

start().catch((err) => log.fatal(err.message, main));
