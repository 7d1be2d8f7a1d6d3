#!/usr/bin/node
'use strict';
// Tyk Pump stand-in (see /work/shared/tyk-contract.md): --conf=PATH JSON + TYK_PMP_ env overrides,
// fatal exit when Redis is unreachable at start, Redis key version-check-pump, GET /health on 8083 that
// does not check Redis, drains analytics-tyk-system-analytics every purge_delay, clean SIGTERM.
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
const pumps = conf.pumps && typeof conf.pumps === 'object' ? Object.keys(conf.pumps) : [];

log.info(`## Tyk Pump, ${VERSION} ##`, main);
if (loaded.error === 'missing') {
  log.error(`Couldn't load configuration file: open ${confFile}: no such file or directory`, main);
} else if (loaded.error === 'invalid') {
  log.fatal(`Couldn't unmarshal configuration: invalid character in ${confFile}`, main);
}

let client = null;
let purging = false;

async function purge() {
  if (purging || !client) return;
  purging = true;
  try {
    await client.command('MULTI');
    await client.command('LRANGE', ANALYTICS_KEY, 0, -1);
    await client.command('DEL', ANALYTICS_KEY);
    const [records] = await client.command('EXEC');
    const n = Array.isArray(records) ? records.length : 0;
    if (n > 0) log.info(`Purged ${n} records...`, main);
  } catch (err) {
    log.error('Multi command failed', { error: err.message, prefix: 'redis' });
    try {
      client.close();
      client = await new lib.RedisClient(redisOpts).connect();
    } catch {
      client = null;
      reconnectLater();
    }
  } finally {
    purging = false;
  }
}

function reconnectLater() {
  setTimeout(async () => {
    try {
      client = await new lib.RedisClient(redisOpts).connect();
    } catch {
      reconnectLater();
    }
  }, 1000).unref();
}

async function start() {
  log.info('--> [REDIS] Creating single-node client', { prefix: 'redis' });
  try {
    client = await new lib.RedisClient(redisOpts).connect();
    await client.command('PING');
    await client.command('SET', 'version-check-pump', VERSION);
  } catch (err) {
    if (client) client.close();
    log.fatal(`Error connecting to Redis: ${err.message}`, { prefix: 'main' });
  }
  log.info(`Purge loop is set to: ${purgeDelay} seconds`, main);
  for (const name of pumps) {
    const type = (conf.pumps[name] && conf.pumps[name].type) || name;
    log.info(`Init Pump: ${type}`, main);
  }
  if (pumps.length === 0) log.warn('No pumps configured', main);

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
  server.on('error', (err) => {
    log.fatal(`Error serving health check endpoint: ${err.message}`, main);
  });
  await new Promise((resolve) => server.listen({ port: healthPort }, resolve));
  log.info(`Serving health check endpoint at http://localhost:${healthPort}/${healthName} ...`, main);
  log.info('Starting purge loop @' + purgeDelay + ' (s)', main);
  setInterval(purge, purgeDelay * 1000);
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
  log.info('Tyk-pump stopped.', main);
  process.exit(0);
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

start().catch((err) => log.fatal(err.message, main));
