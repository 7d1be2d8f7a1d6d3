// Headers the worker adds to every load-balancer hook call (an API token, typically). They come from the worker's
// own environment, never from the plan, so they never enter workflow history:
//   TYK_UPGRADE_HOOK_HEADERS='{"Authorization":"Bearer …"}'   or   TYK_UPGRADE_HOOK_HEADERS_FILE=/etc/tyk-upgrade/hook-headers.json
// Error messages name the variable and the problem, never the content.
import { readFileSync } from 'node:fs';

export const HOOK_HEADERS_ENV = 'TYK_UPGRADE_HOOK_HEADERS';
export const HOOK_HEADERS_FILE_ENV = 'TYK_UPGRADE_HOOK_HEADERS_FILE';

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function readHookHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const inline = env[HOOK_HEADERS_ENV];
  const file = env[HOOK_HEADERS_FILE_ENV];
  if (inline && file) throw new Error(`set ${HOOK_HEADERS_ENV} or ${HOOK_HEADERS_FILE_ENV}, not both`);
  if (!inline && !file) return {};
  let text: string;
  const source = file ? `${HOOK_HEADERS_FILE_ENV} (${file})` : HOOK_HEADERS_ENV;
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else text = inline as string;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${source} is not JSON; write it as {"Authorization": "Bearer …"}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${source} must be a JSON object of header names to values, like {"Authorization": "Bearer …"}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!HEADER_NAME.test(name)) throw new Error(`${source}: "${name}" is not a valid header name`);
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw new Error(`${source}: the value of "${name}" must be a one-line string`);
    if (name.toLowerCase() === 'content-type') throw new Error(`${source}: "${name}" is set by tyk-upgrade (the body is JSON)`);
    headers[name] = value;
  }
  return headers;
}
