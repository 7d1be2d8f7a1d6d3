// The workflow code as one prebuilt file, as Temporal advises for production: `npm run build` (and so `npm pack`
// and rig/setup.sh) bundles it once, and workers load it without webpack. Beside it, a hash of the workflow
// modules it was made from: a worker never runs a bundle older than the code, it bundles the code itself instead
// (development, after a bare `tsc`) and says so.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';

export const WORKFLOWS_PATH = require.resolve('./workflows');
/** dist/workflow-bundle.js: this module is dist/src/workflow-bundle.js. */
export const BUNDLE_PATH = join(__dirname, '..', 'workflow-bundle.js');

/** How a worker gets its workflow code: the prebuilt bundle, or the modules to bundle at start. */
export type WorkflowCode = Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;

/**
 * Every module of ours the bundle is made of (the workflows and what they require, found from the compiled
 * `require("./…")` calls) and the version of the SDK's workflow runtime bundled with them. Other libraries come
 * from the install the bundle was built in.
 */
export function workflowSourceHash(entry = WORKFLOWS_PATH): string {
  const hash = createHash('sha256');
  const root = dirname(entry);
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    hash.update(`${relative(root, file)}\0${code}\0`);
    const req = createRequire(file);
    for (const m of code.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) visit(req.resolve(m[1]));
  };
  visit(entry);
  hash.update(`@temporalio/workflow@${(require('@temporalio/workflow/package.json') as { version: string }).version}`);
  return hash.digest('hex');
}

/** Why the prebuilt bundle cannot be used, or undefined when it matches the code. */
export function bundleProblem(bundle = BUNDLE_PATH, entry = WORKFLOWS_PATH): string | undefined {
  const hashFile = `${bundle}.sha256`;
  if (!existsSync(bundle) || !existsSync(hashFile)) return `no prebuilt workflow bundle at ${bundle}`;
  if (readFileSync(hashFile, 'utf8').trim() !== workflowSourceHash(entry)) return `the workflow bundle ${bundle} was built from older workflow code`;
  return undefined;
}

let chosen: WorkflowCode | undefined;

/** The prebuilt bundle when it matches the code, else the workflow modules (bundled by the worker, said in `log`). */
export function workflowCode(log: (line: string) => void): WorkflowCode {
  if (chosen) return chosen;
  const problem = bundleProblem();
  if (problem) log(`${problem}: bundling the workflow code now, which takes seconds at every start (\`npm run build\` writes the bundle)`);
  chosen = problem ? { workflowsPath: WORKFLOWS_PATH } : { workflowBundle: { codePath: BUNDLE_PATH } };
  return chosen;
}

// The bundler's own progress lines are noise; errors still throw.
const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** Bundles the workflow code into BUNDLE_PATH with its hash (written last, so a half-done build is never trusted). */
export async function buildWorkflowBundle(): Promise<{ path: string; bytes: number; hash: string }> {
  const hash = workflowSourceHash();
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  await writeFile(`${BUNDLE_PATH}.tmp`, code);
  await rename(`${BUNDLE_PATH}.tmp`, BUNDLE_PATH);
  await writeFile(`${BUNDLE_PATH}.sha256`, `${hash}\n`);
  return { path: BUNDLE_PATH, bytes: Buffer.byteLength(code), hash };
}

// `node dist/src/workflow-bundle.js` (npm run build): write the bundle.
if (require.main === module) {
  const t0 = Date.now();
  buildWorkflowBundle().then(
    (b) => process.stderr.write(`workflow bundle: ${b.path} (${Math.round(b.bytes / 1024)} KiB, ${Date.now() - t0} ms)\n`),
    (err) => {
      process.stderr.write(`could not bundle the workflow code: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
