// `npm test`: one Temporal dev server for the whole run (the SDK's createLocal gives a busy machine too little
// time to start one per file), then node's test runner over every test file in three lanes that run side by side.
// Within a lane files run one at a time. The second lane holds the files that bring their own Docker engines
// (simulated hosts) or their own Temporal cluster; the third the files on real Tyk (real-*.test.ts and the contract
// test: the images rig/tyk-real.sh builds, heavier than the stand-ins, so one at a time beside the others);
// everything else shares the one engine in the first. Every file names its containers and stacks uniquely and
// takes free ports, so a file on the shared engine may run in any lane: some go in the second and third so the
// three end at about the same time.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../../src/devserver/dev-server';
import { failuresIn } from './tap-failures';

/** Files with engines or a Temporal of their own. */
const SECOND_LANE = [/^fleet\./, /^fleet-image\./, /^temporal-cluster\./, /^faults-engine\./];
/** Real Tyk: the product end to end (real-*.test.ts, and the rig's own real-tyk.test.ts) and the contract test. */
const REAL_LANE = [/^real-/, /^contract\./];
/** Files on the shared engine run beside the second and third lanes' own (alone, the first took 31 of 32 minutes). */
const WITH_SECOND = [
  /^window\./,
  /^gates\./,
  /^deploy\./,
  /^faults-dev\./,
  /^tool-upgrade\./,
  /^notify\./,
  /^notifications\./,
  /^serving-analysis\./,
  /^continue-as-new\./,
];
const WITH_REAL = [/^compose\./, /^package\./, /^drain\./, /^worker-timeout\./];

interface LaneResult {
  code: number;
  pass: number;
  fail: number;
  /** Each failed test with where it is and what it said, from the TAP report. */
  failures: string[];
}

/**
 * One lane: the spec report goes to the terminal (the second lane's as one block when it ends, so the two do not
 * interleave line by line), a TAP report to a file for the run's closing count.
 */
function runLane(name: string, files: string[], env: NodeJS.ProcessEnv, dir: string, live: boolean): Promise<LaneResult> {
  if (!files.length) return Promise.resolve({ code: 0, pass: 0, fail: 0, failures: [] });
  const tap = join(dir, `${name}.tap`);
  const spec = join(dir, `${name}.spec.txt`);
  const args = [
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    `--test-reporter-destination=${live ? 'stdout' : spec}`,
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ];
  return new Promise<LaneResult>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    child.on('exit', (c) => {
      if (!live && existsSync(spec)) process.stdout.write(`\n──── ${name} lane (${files.length} files) ────\n${readFileSync(spec, 'utf8')}\n`);
      const report = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
      const count = (what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(report)?.[1] ?? 0);
      resolve({ code: c ?? 1, pass: count('pass'), fail: count('fail') + count('cancelled'), failures: failuresIn(report) });
    });
  });
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tyk-upgrade-test-'));
  const port = Number(process.env.TEST_TEMPORAL_PORT ?? 7243);
  const uiPort = Number(process.env.TEST_TEMPORAL_UI_PORT ?? 8243);
  // The run's Temporal store in memory where there is a tmpfs: with three lanes at once, its SQLite on the disk the
  // engines write to timed out (GetNamespace "context deadline exceeded", which a CLI saw as "Namespace not found").
  const store = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/tyk-upgrade-test-') : dir;
  const server = await startDevServer({ port, uiPort, dbFile: join(store, 'temporal.db'), logFile: join(dir, 'temporal.log'), log: (l) => console.log(l) });
  console.log(`test run: Temporal dev server on ${server.address}, Web UI ${server.uiUrl}`);
  const testDir = join(__dirname, '..');
  const only = process.argv.slice(2);
  const files = readdirSync(testDir)
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
  const inLane = (...lists: RegExp[][]) => files.filter((f) => lists.some((l) => l.some((re) => re.test(f))));
  const second = inLane(SECOND_LANE, WITH_SECOND);
  const real = inLane(REAL_LANE, WITH_REAL);
  const first = files.filter((f) => !second.includes(f) && !real.includes(f));
  // Workers that are not given --backup-dir write under the run's folder, never into the user's state folder.
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_UI_URL: server.uiUrl,
    TYK_UPGRADE_TEST_DIR: dir,
    TYK_UPGRADE_BACKUP_DIR: join(dir, 'backups'),
  };
  // The first lane with files reports live; the others as one block each when they end.
  const lanes = [
    { name: 'shared-engine', files: first },
    { name: 'own-engines', files: second },
    { name: 'real-tyk', files: real },
  ];
  const live = lanes.find((l) => l.files.length)?.name;
  const results = await Promise.all(
    // Each lane picks its free ports from its own block (support/services.ts): the lanes are separate processes, so
    // two could otherwise pick the same port in the moment before either binds it.
    lanes.map((l, i) =>
      runLane(
        l.name,
        l.files.map((f) => join(testDir, f)),
        { ...env, TYK_UPGRADE_TEST_LANE: `${i}/${lanes.length}` },
        dir,
        l.name === live,
      ),
    ),
  );
  await server.stop();
  if (store !== dir) rmSync(store, { recursive: true, force: true });
  const pass = results.reduce((n, l) => n + l.pass, 0);
  const fail = results.reduce((n, l) => n + l.fail, 0);
  const failures = results.flatMap((l) => l.failures);
  if (failures.length) console.log(`\nfailed:\n${failures.join('\n')}`);
  console.log(`\ntests: ${pass} passed, ${fail} failed`);
  return results.find((l) => l.code !== 0)?.code ?? (pass === 0 ? 1 : 0);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`test run could not start: ${(err as Error).message}`);
    process.exit(1);
  },
);
