// `node dist/src/real-tyk/rig.js [gateway:v5.3.0 pump:v1.9.0 ...]` (rig/tyk-real.sh): makes sure the local registry
// has the real Tyk images asked for (all of REAL_TYK_BUILDS by default).
//  - TYK_SRC_DIR set: each binary is built from its archive there (once, cached), then its image (warm: only checks).
//  - TYK_SRC_DIR unset, on a user's machine: an image already in the local registry is used as it is; a missing one
//    is pulled from Tyk's official repository (needs internet) and pushed under the same local name.
//  - TYK_SRC_DIR unset with CI=true: fails. CI builds what it tests from source and never skips the real-Tyk lane.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { elapsed } from '../devserver/go-install';
import { localImage, parseRef, REAL_TYK_BUILDS, refName, type RealTykRef } from './catalog';
import { ensureBinary } from './binary';
import { ensureImage, ensurePulled, inRegistry, type ImageResult } from './image';

/** Go builds at once: each takes ~1.5 GB and both cores, so two is what 2 cores / 24 GB carry. */
const PARALLEL_BUILDS = 2;

const log = (line: string) => process.stderr.write(`[rig] ${line}\n`);

function refsFrom(args: string[]): RealTykRef[] {
  if (!args.length) return REAL_TYK_BUILDS;
  return args.map((a) => {
    const ref = parseRef(a);
    if (!ref) throw new Error(`unknown real Tyk build ${JSON.stringify(a)}: expected one of ${REAL_TYK_BUILDS.map(refName).join(', ')}`);
    return ref;
  });
}

async function fromSource(ref: RealTykRef, srcDir: string): Promise<ImageResult> {
  return ensureImage(await ensureBinary(ref, srcDir, log), log);
}

async function withoutSource(ref: RealTykRef): Promise<ImageResult> {
  const image = localImage(ref);
  if (await inRegistry(image)) return { image, built: false, pushed: false, sizeBytes: 0 };
  return ensurePulled(ref, log).catch((err: Error) => {
    throw new Error(
      `${image} is not in the local registry and ${err.message.split('\n')[0]}; set TYK_SRC_DIR to a folder with Tyk's source archives to build it instead`,
    );
  });
}

/** Runs `fn` over `items`, at most `limit` at a time; every item runs, the first failure is reported after. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) {
      results[i] = await fn(items[i]).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason) => ({ status: 'rejected', reason }) as const,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export async function ensureRealTyk(args: string[]): Promise<ImageResult[]> {
  const refs = refsFrom(args);
  const src = process.env.TYK_SRC_DIR;
  if (!src && process.env.CI === 'true') {
    throw new Error(
      "TYK_SRC_DIR is not set: in CI the real Tyk images are built from Tyk's source archives (.ci/run sets it to ../shared/tyk-src beside the repository); set it to the folder holding tyk-gateway-vX.Y.Z.tar.gz, tyk-pump-vX.Y.Z.tar.gz and SHA256SUMS",
    );
  }
  if (src && !(existsSync(src) && statSync(src).isDirectory())) throw new Error(`TYK_SRC_DIR is ${src}, which is not a folder`);
  const srcDir = src && resolve(src);
  log(
    srcDir
      ? `real Tyk from the source archives in ${srcDir}: ${refs.map(refName).join(', ')}`
      : `real Tyk without TYK_SRC_DIR: ${refs.map(refName).join(', ')}`,
  );
  const results = await pool(refs, PARALLEL_BUILDS, (ref) => (srcDir ? fromSource(ref, srcDir) : withoutSource(ref)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${refName(refs[i])}: ${(r.reason as Error).message}`] : []));
  if (failed.length) throw new Error(failed.join('\n'));
  return results.map((r) => (r as PromiseFulfilledResult<ImageResult>).value);
}

if (require.main === module) {
  const started = Date.now();
  ensureRealTyk(process.argv.slice(2)).then(
    (images) => {
      const mb = (b: number) => (b ? ` ${Math.round(b / 1e6)} MB` : '');
      log(
        `real Tyk ready in ${elapsed(Date.now() - started)} (built ${images.filter((i) => i.built).length}, pushed ${images.filter((i) => i.pushed).length}):`,
      );
      for (const i of images) process.stderr.write(`  ${i.image}${mb(i.sizeBytes)}\n`);
    },
    (err: Error) => {
      process.stderr.write(`[rig] error: real Tyk images: ${err.message}\n`);
      process.exit(1);
    },
  );
}
