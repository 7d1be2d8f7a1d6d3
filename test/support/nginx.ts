// A real nginx (Debian's, installed by rig/packages.sh) in front of a test's gateways, as a child process on a
// free 127.0.0.1 port: retries idempotent requests on another server (proxy_next_upstream), takes a failed server
// out for fail_timeout. No load-balancer driver touches it: the baseline the HAProxy driver is compared with.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort, tempDir, waitFor } from './services';

export interface TestNginx {
  url: string;
  stop(): Promise<void>;
}

/** `servers`: host:port of each gateway. */
export async function startNginx(servers: string[]): Promise<TestNginx> {
  const port = await freePort();
  const dir = tempDir('nginx');
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
${servers.map((s) => `    server ${s} max_fails=1 fail_timeout=2s;`).join('\n')}
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
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('nginx', async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    return (await request(`${url}/hello`).catch(() => undefined))?.statusCode === 200 ? true : undefined;
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGQUIT');
        await exited;
      }
    },
  };
}
