// A real nginx (Debian's) in front of gateways, as a process on 127.0.0.1: passive health checks only (nginx open
// source has no active ones), and requests retried on the next upstream — a GET always, a POST only when it was
// not yet sent (connection refused), so a POST in flight on a gateway that stops fails where a client sees it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort, tempDir, waitFor } from './services';

export interface Nginx {
  url: string;
  /** nginx's error log (level warn): why each request it could not serve failed. */
  errorLog(): string;
  stop(): void;
}

/** upstreams: "host:port" of each gateway. */
export async function startNginx(upstreams: string[]): Promise<Nginx> {
  const port = await freePort();
  const dir = tempDir('nginx');
  const servers = upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=2s;`).join('\n');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream tyk {
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://tyk;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_connect_timeout 1s;
    }
  }
}
`,
  );
  const nginx: ChildProcess = spawn('nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('nginx', async () => ((await request(`${url}/hello`)).statusCode === 200 ? true : undefined));
  const log = join(dir, 'error.log');
  return { url, errorLog: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''), stop: () => void nginx.kill('SIGQUIT') };
}
