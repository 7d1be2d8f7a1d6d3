// `npm test`: one Temporal dev server for the whole run (the SDK's createLocal gives a busy machine too little
// time to start one per file), then node's test runner over every test file, one file at a time because the
// files share one Docker engine and the host network.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../../src/devserver/dev-server';

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tyk-upgrade-test-'));
  const port = Number(process.env.TEST_TEMPORAL_PORT ?? 7243);
  const uiPort = Number(process.env.TEST_TEMPORAL_UI_PORT ?? 8243);
  const server = await startDevServer({ port, uiPort, dbFile: join(dir, 'temporal.db'), logFile: join(dir, 'temporal.log'), log: (l) => console.log(l) });
  console.log(`test run: Temporal dev server on ${server.address}, Web UI ${server.uiUrl}`);
  const testDir = join(__dirname, '..');
  const only = process.argv.slice(2);
  const files = readdirSync(testDir)
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .map((f) => join(testDir, f));
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
      stdio: 'inherit',
      env: { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_UI_URL: server.uiUrl, TYK_UPGRADE_TEST_DIR: dir },
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  await server.stop();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`test run could not start: ${(err as Error).message}`);
    process.exit(1);
  },
);
