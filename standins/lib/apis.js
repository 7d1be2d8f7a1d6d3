'use strict';
// What the gateway stand-in serves besides /hello: the API definitions and policies it loads from files the way the
// real gateway does in file mode (app_path, policies.policy_path or policies.policy_record_name), the Gateway API
// that lists them (GET /tyk/apis, /tyk/apis/{id}, /tyk/policies, /tyk/policies/{id}, behind x-tyk-authorization),
// and the proxy that sends each API's listen_path to its target_url. What the real gateway answers and logs was read
// from the real binaries (test/contract.test.ts compares them); standins/README.md lists what is left out.

const fs = require('fs');
const path = require('path');
const http = require('http');
const { goType, parseJson } = require('./standin.js');

const ADMIN_DENIED = 'Attempted administrative access with invalid or missing key!';

/** The *.json files of a folder in Go's filepath.Glob order (sorted), or [] when it cannot be read. */
function jsonFiles(dir) {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

// Fields the real gateway always has in its answer (Go zero values), over which the file's own fields go.
function apiView(def) {
  const proxy = def.proxy && typeof def.proxy === 'object' ? def.proxy : {};
  return {
    name: '',
    api_id: '',
    org_id: '',
    use_keyless: false,
    active: false,
    ...def,
    proxy: { listen_path: '', target_url: '', strip_listen_path: false, ...proxy },
  };
}

function policyView(pol) {
  return { _id: '', id: '', name: '', org_id: '', active: false, ...pol };
}

function loadPolicies(conf, log) {
  const main = { prefix: 'main' };
  const source = (conf.policies && typeof conf.policies === 'object' && conf.policies) || {};
  const byId = new Map();
  log.info('Loading policies', main);
  if (source.policy_source === 'service' || source.policy_source === 'rpc') {
    log.warn(`Policies from ${source.policy_source} are not served by the stand-in`, main);
  } else if (source.policy_path) {
    // Each file is one policy, keyed by its own "id"; a file that does not parse still counts, under "".
    for (const file of jsonFiles(source.policy_path)) {
      log.info(`Loading policy from dir ${file}`);
      const text = fs.readFileSync(file, 'utf8');
      const parsed = parseJson(text);
      let pol = {};
      if (parsed.error) log.error(`Couldn't unmarshal policy configuration from dir: ${file} : ${parsed.error}`);
      else if (parsed.value && typeof parsed.value === 'object' && !Array.isArray(parsed.value)) pol = parsed.value;
      byId.set(typeof pol.id === 'string' ? pol.id : '', policyView(pol));
    }
  } else if (source.policy_record_name) {
    // One file: a map of id -> policy.
    let text;
    try {
      text = fs.readFileSync(source.policy_record_name, 'utf8');
    } catch (err) {
      log.error(`Couldn't open policy file: open ${source.policy_record_name}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`, {
        prefix: 'policy',
      });
    }
    if (text !== undefined) {
      const parsed = parseJson(text);
      if (parsed.error) log.error(`Couldn't unmarshal policies: ${parsed.error}`, { prefix: 'policy' });
      else if (parsed.value && typeof parsed.value === 'object') for (const [id, pol] of Object.entries(parsed.value)) byId.set(id, policyView(pol));
    }
  }
  log.info(`Policies found (${byId.size} total):`, main);
  return byId;
}

/**
 * The definitions in app_path. The real gateway lists every definition it parsed (also those it then refuses to
 * serve, e.g. an empty listen_path); a file that does not parse is left out from 5.3 on and listed as an empty
 * definition by 5.2. `refuse(def)` is the faulty image's rule: a reason, and the definition is dropped like one that
 * does not parse.
 */
function loadApis(appPath, opts) {
  const { log, versionBefore53, refuse } = opts;
  const main = { prefix: 'main' };
  const byId = new Map();
  for (const file of jsonFiles(appPath)) {
    if (file.endsWith('-oas.json')) continue;
    log.info(`Loading API Specification from ${file}`);
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      log.error(`Couldn't read api configuration file: open ${file}: ${err.code === 'EACCES' ? 'permission denied' : err.message}`);
      continue;
    }
    const parsed = parseJson(text);
    let def = parsed.value;
    if (parsed.error || !def || typeof def !== 'object' || Array.isArray(def)) {
      const why = parsed.error || `json: cannot unmarshal ${goType(def)} into Go value of type apidef.APIDefinition`;
      if (!versionBefore53) {
        log.error(`Couldn't unmarshal read file: ${why}`);
        continue;
      }
      log.error(`Couldn't unmarshal api configuration: ${why}`);
      def = {};
    }
    const refused = refuse && refuse(def);
    if (refused) {
      log.error(`Couldn't unmarshal read file: ${refused}`);
      continue;
    }
    const view = apiView(def);
    if ((view.protocol === 'tcp' || view.protocol === 'tls') && !view.listen_port) {
      log.error('Skipping loading spec because it failed validation', { error: 'missing listening port', prefix: 'main', spec: view.name });
      continue;
    }
    byId.set(view.api_id, view);
  }
  log.info(`Detected ${byId.size} APIs`, main);
  const apis = [...byId.values()];
  const served = [];
  if (apis.length === 0) return { apis, served };
  log.info('Loading API configurations.', main);
  // Longest listen path first, as the real router matches them.
  const ordered = [...apis].sort((a, b) => b.proxy.listen_path.length - a.proxy.listen_path.length);
  for (const api of ordered) log.info('Tracking hostname', { api_name: api.name, domain: '(no host)', prefix: 'main' });
  log.info('Initialising Tyk REST API Endpoints', main);
  for (const api of ordered) {
    const who = { api_id: api.api_id, api_name: api.name, org_id: api.org_id };
    log.info('API bind on custom port:0', main);
    const lp = String(api.proxy.listen_path || '');
    if (lp === '' || lp.includes(' ')) {
      log.error(lp === '' ? 'Listen path is empty' : 'Listen path contains spaces, is invalid', who);
      log.warn('Spec not valid, skipped!', who);
      continue;
    }
    log.info(`Checking security policy: ${api.use_keyless ? 'Open' : 'Token'}`, who);
    log.info('API Loaded', { ...who, prefix: 'gateway', server_name: '--', user_id: '--', user_ip: '--' });
    served.push(api);
  }
  log.info('Loading uptime tests...', { prefix: 'host-check-mgr' });
  log.info('Initialised API Definitions', main);
  log.info('API reload complete', main);
  return { apis, served };
}

// Go's httputil.singleJoiningSlash.
function joinPath(a, b) {
  const as = a.endsWith('/');
  const bs = b.startsWith('/');
  if (as && bs) return a + b.slice(1);
  if (!as && !bs) return `${a}/${b}`;
  return a + b;
}

// Tyk's error template (templates/error.json): the message in a four-space-indented object.
function tykError(res, code, message, extraHeaders = {}) {
  const body = `{\n    "error": ${JSON.stringify(message)}\n}`;
  res.writeHead(code, { 'Content-Type': 'application/json', 'X-Generator': 'tyk.io', 'Content-Length': Buffer.byteLength(body), ...extraHeaders });
  res.end(body);
}

function proxyTo(api, req, res, url, log, headers) {
  let target;
  try {
    target = new URL(api.proxy.target_url);
  } catch {
    return tykError(res, 500, 'There was a problem proxying the request', headers);
  }
  let rest = url.pathname;
  if (api.proxy.strip_listen_path) {
    rest = rest.slice(api.proxy.listen_path.length);
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  const upstreamPath = joinPath(target.pathname || '/', rest) + url.search;
  const up = http.request(
    {
      host: target.hostname,
      port: target.port || 80,
      method: req.method,
      path: upstreamPath,
      headers: { ...req.headers, host: target.host, 'x-forwarded-for': req.socket.remoteAddress || '' },
    },
    (upRes) => {
      const h = { ...upRes.headers, 'x-ratelimit-limit': '0', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0', ...headers };
      res.writeHead(upRes.statusCode || 502, h);
      upRes.pipe(res);
    },
  );
  up.on('error', (err) => {
    log.error(`http: proxy error: ${err.message}`, { api_id: api.api_id, api_name: api.name, org_id: api.org_id, prefix: 'proxy' });
    if (!res.headersSent) tykError(res, 500, 'There was a problem proxying the request', headers);
    else res.destroy();
  });
  req.pipe(up);
  return undefined;
}

/**
 * opts: { conf, log, versionBefore53, refuse }. Returns the loaded inventory and two request handlers that answer
 * when the path is theirs (true) and leave it otherwise (false).
 */
function createApis(opts) {
  const { conf, log } = opts;
  const policies = loadPolicies(conf, log);
  const { apis, served } = loadApis(conf.app_path || '/opt/tyk-gateway/apps/', opts);
  const main = { prefix: 'main' };

  function adminJson(res, code, obj) {
    const text = `${JSON.stringify(obj)}\n`;
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...opts.headers() });
    res.end(text);
  }

  // The Gateway API: every /tyk/ path is behind the secret first, then routed.
  function handleGatewayApi(req, res, url) {
    if (!url.pathname.startsWith('/tyk/')) return false;
    if ((req.headers['x-tyk-authorization'] || '') !== String(conf.secret || '')) {
      log.warn(ADMIN_DENIED, main);
      adminJson(res, 403, { status: 'error', message: ADMIN_DENIED });
      return true;
    }
    const p = url.pathname.slice(4).replace(/\/+$/, '');
    const m = /^\/(apis|policies)(?:\/([^/]+))?$/.exec(p);
    if (m && req.method !== 'GET') {
      adminJson(res, 501, { status: 'error', message: 'the stand-in Gateway API only reads (GET)' });
      return true;
    }
    if (m && m[1] === 'apis') {
      if (!m[2]) adminJson(res, 200, apis);
      else {
        const id = decodeURIComponent(m[2]);
        const api = apis.find((a) => a.api_id === id);
        if (api) adminJson(res, 200, api);
        else {
          log.error("API doesn't exist.", { apiID: JSON.stringify(id), prefix: 'api' });
          adminJson(res, 404, { status: 'error', message: 'API not found' });
        }
      }
      return true;
    }
    if (m && m[1] === 'policies') {
      if (!m[2]) adminJson(res, 200, [...policies.values()]);
      else {
        const id = decodeURIComponent(m[2]);
        const pol = policies.get(id);
        if (pol && pol.id) adminJson(res, 200, pol);
        else {
          log.error("Policy doesn't exist.", { polID: id, prefix: 'policy' });
          adminJson(res, 404, { status: 'error', message: 'Policy not found' });
        }
      }
      return true;
    }
    if ((p === '/reload' || p === '/reload/group') && req.method === 'GET') {
      adminJson(res, 200, { status: 'ok', message: '' });
      return true;
    }
    const text = '404 page not found\n';
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': text.length, ...opts.headers() });
    res.end(text);
    return true;
  }

  function handleProxy(req, res, url) {
    const api = served.find((a) => url.pathname.startsWith(a.proxy.listen_path));
    if (!api) return false;
    if (!api.use_keyless) {
      const header = (api.auth && api.auth.auth_header_name) || 'Authorization';
      const key = req.headers[header.toLowerCase()];
      const who = { api_id: api.api_id, api_name: api.name, org_id: api.org_id, origin: req.socket.remoteAddress, path: url.pathname };
      req.resume();
      if (!key) {
        log.info('Attempted access with malformed header, no auth header found.', { ...who, mw: 'AuthKey' });
        tykError(res, 401, 'Authorization field missing', opts.headers());
      } else {
        // The stand-in holds no keys: every key is one it does not know.
        log.info('Attempted access with non-existent key.', { ...who, key: '--', mw: 'AuthKey' });
        tykError(res, 403, 'Access to this API has been disallowed', opts.headers());
      }
      return true;
    }
    proxyTo(api, req, res, url, log, opts.headers());
    return true;
  }

  return { apis, policies, served, handleGatewayApi, handleProxy };
}

module.exports = { createApis };
