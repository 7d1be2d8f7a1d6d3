// bench/downtime.ts on real Tyk: a real gateway's downtime during our recreate (recreateContainer + checkHealth)
// from the real 5.3.0 to the real 5.8.10 (the images rig/tyk-real.sh builds from Tyk's source), against the floor
// measured on the same real binaries in the same run: a pre-created 5.8.10 container, then only `docker stop` of
// the old one, `docker start` of the new one, and its first healthy /hello (pass, 5.8.10, details.redis pass).
//
// The warm-up: 5.8.10 reads liveness_check.check_duration as a Go duration, 5.3.0 as a number of seconds
// (TykTechnologies/tyk#6068), so TYK_GW_LIVENESSCHECK_CHECKDURATION=1s gives the new gateway Tyk's checks every
// second, the same in both modes, while the old one (reading a billion seconds) only ever says pass without
// details: it counts as serving once it passes.
//
// Run: npm run bench   (or: npm run build && node dist/bench/downtime-real.js [rounds])
import { localImage } from '../src/real-tyk/catalog';
import { benchDowntime } from './downtime';

benchDowntime({
  fromImage: localImage({ component: 'gateway', version: '5.3.0' }),
  toImage: localImage({ component: 'gateway', version: '5.8.10' }),
  fromVersion: '5.3.0',
  toVersion: '5.8.10',
  env: ['TYK_GW_LIVENESSCHECK_CHECKDURATION=1s'],
  warmup: 'TYK_GW_LIVENESSCHECK_CHECKDURATION=1s (5.8.10: checks every 1 s)',
  oldReady: 'answering',
  hint: 'build the real Tyk images first: `bash rig/tyk-real.sh gateway:v5.3.0 gateway:v5.8.10` (TYK_SRC_DIR names the source archives)',
}).catch((err) => {
  console.error(`bench (real Tyk): ${(err as Error).stack ?? err}`);
  process.exit(1);
});
