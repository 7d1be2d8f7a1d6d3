// `tyk-upgrade dev` keeps its dev server up: when the server exits (killed, crashed), it is started again on the
// same db file and port, so workflows resume where they were and the worker reconnects to the same address.
// A server that will not come back ends `dev` with one line saying why, rather than a worker retrying forever.
import { startDevServer, type DevServerOptions, type DevServer } from './dev-server';

export interface SupervisedServer {
  address: string;
  uiUrl: string;
  namespace: string;
  /** Resolves with the reason when the server is gone for good (restarts failed); never when stop() is called. */
  gaveUp: Promise<Error>;
  /** How many times the server was started again. */
  restarts(): number;
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  /** Consecutive failed (or short-lived) restarts before giving up. */
  maxFailures?: number;
  /** First wait before a restart; doubled after each failure, at most 8 s. */
  backoffMs?: number;
  /** A server that stayed up this long resets the failure count. */
  stableMs?: number;
}

export async function superviseDevServer(opts: DevServerOptions, s: SuperviseOptions = {}): Promise<SupervisedServer> {
  const maxFailures = s.maxFailures ?? 5;
  const backoffMs = s.backoffMs ?? 500;
  const stableMs = s.stableMs ?? 60_000;
  const log = opts.log ?? (() => undefined);
  let server: DevServer = await startDevServer(opts);
  let stopping = false;
  let restarts = 0;
  let giveUp: (err: Error) => void = () => undefined;
  const gaveUp = new Promise<Error>((r) => (giveUp = r));

  const watch = (current: DevServer, startedAt: number, failures: number) => {
    void current.exited.then(async (how) => {
      if (stopping) return;
      // A server that ran a while is a new incident; one that dies right after a restart counts against the limit.
      let count = Date.now() - startedAt >= stableMs ? 0 : failures;
      let last = how;
      log(`the Temporal dev server ${how}; starting it again on the same db file`);
      while (count < maxFailures && !stopping) {
        await new Promise((r) => setTimeout(r, Math.min(backoffMs * 2 ** count, 8000)));
        if (stopping) return;
        try {
          server = await startDevServer({ ...opts, log: undefined });
          restarts++;
          log(`the Temporal dev server is back on ${server.address} (restart ${restarts})`);
          watch(server, Date.now(), count + 1);
          return;
        } catch (err) {
          count++;
          last = (err as Error).message;
          log(`restart ${count} of ${maxFailures} failed: ${last}`);
        }
      }
      if (!stopping) giveUp(new Error(`the Temporal dev server ${how} and could not be started again after ${count} attempts (last: ${last})`));
    });
  };
  watch(server, Date.now(), 0);

  return {
    address: server.address,
    uiUrl: server.uiUrl,
    namespace: server.namespace,
    gaveUp,
    restarts: () => restarts,
    stop: async () => {
      stopping = true;
      await server.stop();
    },
  };
}
