// `tyk-upgrade watch`: follows an upgrade as it runs by polling its status query and printing what changed.
// At a waiting gate it asks on a terminal, approves when told to (--auto-approve), or prints the exact commands.
import { createInterface } from 'node:readline/promises';
import { decide, finalStatus, findUpgrade, getStatus, type StatementSigner, type UpgradeExecution } from '../client-lib/upgrades';
import { exitCodeOf, OUTCOME_FAILURE } from '../shared/errors';
import type { GateName, UpgradeStatus } from '../shared/types';
import { CliError, Exit, type ExitCode } from './exit-codes';
import { defaultActor, interactive, print } from './output';
import { approveCommand, rejectCommand } from './render';
import { statusEvents } from './status-events';
import { clock } from './table';
import { noAnswer, serverMoment, type TemporalSession } from './temporal';

/** Short, so a dead worker is reported quickly; watching goes on regardless. */
const QUERY_DEADLINE_MS = 5000;
/** How long the watch waits out a Temporal server that does not answer (the upgrade goes on without it). */
const SERVER_LOST_LIMIT_MS = 120_000;
/** What a call made while the server did not answer gives back. */
const LOST = Symbol('no answer from the Temporal server');

export interface WatchOptions {
  session: TemporalSession;
  workflowId: string;
  /** Approve every gate as it is reached, with a note saying so. */
  autoApprove: boolean;
  /** Ask at each gate (a person is at the terminal). */
  ask: boolean;
  by: string;
  /** Signs each decision (--sign-key); its name is the one recorded. */
  signer?: StatementSigner;
  out: (line: string) => void;
  pollMs?: number;
}

export interface WatchResult {
  exitCode: ExitCode;
  execution: UpgradeExecution;
  status?: UpgradeStatus;
}

export async function watchUpgrade(o: WatchOptions): Promise<WatchResult> {
  const { client } = o.session;
  const emit = (line: string) => o.out(`${clock(new Date())}  ${line}`);
  const pause = () => new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  let prev: UpgradeStatus | undefined;
  const handled = new Set<GateName>();
  let silentWorker = false;
  let announced = false;
  // Once the upgrade has been found, a server that fails to answer is waited out: a watch of an hour-long
  // upgrade does not end on a server's restart or failover.
  let found = false;
  let lostSince: number | undefined;
  const contact = async <T>(call: () => Promise<T>): Promise<T | typeof LOST> => {
    try {
      const answer = await call();
      if (lostSince !== undefined) emit('the Temporal server answers again');
      lostSince = undefined;
      return answer;
    } catch (err) {
      if (!found || !serverMoment(err)) throw err;
      if (lostSince === undefined) {
        lostSince = Date.now();
        emit(`the Temporal server does not answer (${(err as Error).message}); still watching, the upgrade goes on by itself`);
      } else if (Date.now() - lostSince > SERVER_LOST_LIMIT_MS) {
        throw new CliError(
          `no answer from the Temporal server for ${SERVER_LOST_LIMIT_MS / 1000} s (${(err as Error).message}); the upgrade goes on by itself: follow it again with \`tyk-upgrade watch ${o.workflowId}\``,
          Exit.TemporalUnreachable,
        );
      }
      return LOST;
    }
  };
  for (;;) {
    const exec = await contact(() => findUpgrade(client, o.workflowId));
    if (exec === LOST) {
      await pause();
      continue;
    }
    found = true;
    if (exec.temporalStatus !== 'RUNNING') {
      const final = await contact(() => finalStatus(client, exec.workflowId, exec.runId));
      if (final === LOST) {
        await pause();
        continue;
      }
      const last = final ?? prev;
      if (last) statusEvents(prev, last).forEach(emit);
      if (!last || last.outcome === 'running') emit(`upgrade ${exec.temporalStatus.toLowerCase()}`);
      return { exitCode: exitCodeFor(exec.temporalStatus, last), execution: exec, status: last };
    }
    if (exec.scheduledFor) {
      // Nothing runs before the start delay has passed; say once when it will.
      if (!announced) emit(`scheduled: starts at ${clock(exec.scheduledFor)} (start --at); waiting`);
      announced = true;
      await pause();
      continue;
    }
    const status = await contact(() => getStatus(client, exec.workflowId, QUERY_DEADLINE_MS).catch((err) => (noAnswer(err) ? undefined : Promise.reject(err))));
    if (status === LOST) {
      await pause();
      continue;
    }
    if (!status) {
      if (!silentWorker)
        emit(`no worker answered for ${QUERY_DEADLINE_MS / 1000} s; still watching (is \`tyk-upgrade worker --task-queue ${exec.taskQueue}\` running?)`);
      silentWorker = true;
      continue;
    }
    silentWorker = false;
    statusEvents(prev, status).forEach(emit);
    prev = status;
    const waiting = status.gates.find((g) => g.state === 'waiting');
    if (waiting && !handled.has(waiting.gate)) {
      handled.add(waiting.gate);
      await atGate(o, exec.workflowId, waiting.gate, emit);
    }
    await pause();
  }
}

async function atGate(o: WatchOptions, workflowId: string, gate: GateName, emit: (line: string) => void): Promise<void> {
  if (o.autoApprove) {
    emit(`approving gate ${gate} automatically (--auto-approve, as ${o.signer ? `${o.signer.name}, signed` : o.by})`);
    await decideQuietly(o, workflowId, 'approve', gate, 'approved automatically by tyk-upgrade --auto-approve', emit);
  } else if (o.ask) {
    await askAtGate(o, workflowId, gate, emit);
  } else {
    emit(`  to approve: ${approveCommand(workflowId, gate)}`);
    emit(`  to reject:  ${rejectCommand(workflowId, gate)}`);
  }
}

/** A decision that lost a race (someone else decided first) is news, not an error. */
async function decideQuietly(
  o: WatchOptions,
  workflowId: string,
  decision: 'approve' | 'reject',
  gate: GateName,
  comment: string | undefined,
  emit: (line: string) => void,
): Promise<void> {
  try {
    await decide(o.session.client, workflowId, decision, { gate, by: o.by, comment }, o.signer);
  } catch (err) {
    emit(`could not ${decision} gate ${gate}: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
}

async function askAtGate(o: WatchOptions, workflowId: string, gate: GateName, emit: (line: string) => void): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const stop = new AbortController();
  // Stop asking when the gate is decided elsewhere (another terminal, the Web UI's signal).
  const poll = setInterval(() => {
    getStatus(o.session.client, workflowId, QUERY_DEADLINE_MS)
      .then((s) => s.gates.find((g) => g.gate === gate)?.state !== 'waiting' && stop.abort())
      .catch(() => undefined);
  }, 2000);
  const ask = async (q: string) => (await rl.question(q, { signal: stop.signal })).trim();
  try {
    for (;;) {
      const answer = (await ask(`Approve gate ${gate} of ${workflowId}? [y]es, [n]o (reject), [l]ater: `)).toLowerCase();
      if (answer === 'y' || answer === 'yes') {
        const comment = await ask('Comment (optional): ');
        await decideQuietly(o, workflowId, 'approve', gate, comment || undefined, emit);
        return;
      }
      if (answer === 'n' || answer === 'no') {
        let reason = '';
        while (!reason) reason = await ask('Reason for rejecting (required): ');
        await decideQuietly(o, workflowId, 'reject', gate, reason, emit);
        return;
      }
      if (answer === 'l' || answer === 'later') {
        emit(`  to approve later: ${approveCommand(workflowId, gate)}`);
        return;
      }
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
    o.out('');
    emit(`gate ${gate} was decided elsewhere`);
  } finally {
    clearInterval(poll);
    rl.close();
  }
}

export function exitCodeFor(temporalStatus: string, s: UpgradeStatus | undefined): ExitCode {
  if (temporalStatus === 'COMPLETED' && s?.outcome === 'succeeded') return Exit.Ok;
  if (s && s.outcome !== 'running' && s.outcome !== 'succeeded' && s.outcome !== 'failed') return exitCodeOf(OUTCOME_FAILURE[s.outcome]) as ExitCode;
  if (temporalStatus === 'CANCELLED' || temporalStatus === 'TERMINATED') return Exit.UpgradeStopped;
  return Exit.UpgradeFailed;
}

/**
 * `watch` and `start --watch`: follow the upgrade on this terminal (asking at gates when a person is there)
 * and turn any end but success into the error and exit code docs/cli.md lists.
 */
export async function watchToEnd(
  session: TemporalSession,
  workflowId: string,
  f: { autoApprove?: boolean; by?: string; signer?: StatementSigner },
): Promise<void> {
  const result = await watchUpgrade({
    session,
    workflowId,
    autoApprove: !!f.autoApprove,
    ask: interactive(),
    by: f.signer?.name ?? f.by ?? defaultActor(),
    ...(f.signer ? { signer: f.signer } : {}),
    out: print,
  });
  if (result.exitCode !== Exit.Ok) {
    const what = result.status?.outcome ?? result.execution.temporalStatus.toLowerCase();
    throw new CliError(`upgrade ${what}${result.status?.reason ? `: ${result.status.reason}` : ''}`, result.exitCode);
  }
}
