// The upgrade of one Tyk stack on one host or a fleet of hosts:
// preflight → backup → pull (each host on its own worker, in parallel) → gate → gateways batch by batch (a child
// workflow per batch; past maxHistoryEvents the run continues as new between batches) → [gate after the canary]
// → gate → pumps → verify.
// A failure past the plan's budget rolls back everything this run changed on every host, or pauses for a person.
// This file is the sequence and the handlers; each step lives in src/workflows/fleet/ under its own name
// (docs/architecture.md). Deterministic workflow code: no Node modules, no I/O; every side effect is an activity.
import { ApplicationFailure, CancellationScope, setHandler } from '@temporalio/workflow';
import { ErrorType } from '../shared/errors';
import { instanceKey } from '../shared/names';
import type { BatchStatus, Decision, UpgradeInput, UpgradeStatus } from '../shared/types';
import { runBatch } from './fleet/batches';
import { continueUpgrade, isContinueAsNew, timeToContinue } from './fleet/continue';
import { finish, finishFailed } from './fleet/finish';
import { applyApproval, applyDecision, approvalRules, awaitGate, validateApprover, validateDecision, waitingGate } from './fleet/gates';
import { backup, preflight, pull, verify } from './fleet/hosts';
import { applyPauseDecision, pauseDecisionFits, validatePauseDecision, withinBudget } from './fleet/pauses';
import { FleetRun, now } from './fleet/run';
import { safePoint } from './fleet/stops';
import { awaitWindow } from './fleet/windows';
import * as m from './messages';

export async function upgradeFleet(input: UpgradeInput): Promise<UpgradeStatus> {
  const run = new FleetRun(input);
  registerHandlers(run);
  if (input.continued) run.publish();
  else run.setStage('preflight');
  try {
    if (!input.continued) {
      await preflight(run);
      await backup(run);
      await pull(run);
      await awaitGate(run, 'before-gateways');
      run.enterStage('gateways');
    }
    const batches = run.gatewayBatches();
    for (let i = run.firstBatch; i < batches.length; i++) {
      const batch = batches[i];
      if (i > run.firstBatch && timeToContinue(run)) return await continueUpgrade(run, i);
      safePoint(run);
      await awaitWindow(run);
      await runBatch(run, batch.name, batch.instances, batch);
      await withinBudget(run);
      if (i === 0 && batches.length > 1) await awaitGate(run, 'after-canary');
    }
    run.endStage('gateways');
    const pumps = run.plan.filter((p) => p.role === 'pump');
    if (pumps.length) {
      await awaitGate(run, 'before-pump');
      safePoint(run);
      await awaitWindow(run);
      run.enterStage('pump');
      await runBatch(run, 'pumps', pumps.map(instanceKey), run.status.batches.find((b) => b.name === 'pumps') as BatchStatus);
      await withinBudget(run);
      run.endStage('pump');
    } else {
      run.endStage('before-pump', 'skipped');
      run.endStage('pump', 'skipped');
    }
    safePoint(run);
    await verify(run);
    return await finish(run);
  } catch (err) {
    if (run.status.outcome === 'partial' || isContinueAsNew(err)) throw err;
    return await CancellationScope.nonCancellable(() => finishFailed(run, err));
  }
}

/** Approvals, pauses and aborts as validated Updates (and Signals with the same meaning); the status as a Query. */
function registerHandlers(run: FleetRun): void {
  const { status } = run;
  const rules = approvalRules(run.input);
  const reject = (d: Decision) => {
    if (d.rollback) run.rejectedWithRollback = true;
    return published(run, applyDecision(status, d, 'rejected'));
  };
  // The Web UI sends no argument when its Data box is left empty: a missing payload is read as {}.
  setHandler(m.approveUpdate, (d) => published(run, applyApproval(status, rules, d ?? {})), {
    validator: (d) => {
      validateDecision(status, d ?? {});
      validateApprover(status, rules, d ?? {});
    },
    description: 'Approve the waiting gate: {"gate": "before-gateways", "by": "alice", "comment": "CHG-1234"}',
  });
  setHandler(m.rejectUpdate, (d) => reject(d ?? {}), {
    validator: (d) => validateDecision(status, d ?? {}),
    description: 'Reject the waiting gate: {"gate": "before-pump", "by": "alice", "comment": "why"}',
  });
  setHandler(
    m.approveSignal,
    (given) => {
      const d = given ?? {};
      if (!waitingGate(status, d.gate)) return;
      try {
        validateApprover(status, rules, d);
      } catch {
        return; // a signal cannot be refused; one that breaks the four-eyes rules does not count
      }
      published(run, applyApproval(status, rules, d));
    },
    { description: 'Approve the waiting gate (ignored when none waits, or when the four-eyes rules refuse it)' },
  );
  setHandler(m.rejectSignal, (d) => void (waitingGate(status, d?.gate) && reject(d ?? {})), {
    description: 'Reject the waiting gate (ignored when none waits)',
  });
  setHandler(m.resolvePauseUpdate, (d) => published(run, applyPauseDecision(status, d)), {
    validator: (d) => validatePauseDecision(status, d),
    description: 'Resolve a paused fleet: {"choice": "retry" | "continue" | "rollback", "by": "alice"}',
  });
  setHandler(m.resolvePauseSignal, (d) => void (pauseDecisionFits(status, d) && published(run, applyPauseDecision(status, d))), {
    description: 'Resolve a paused fleet (ignored when not paused or the choice is unknown)',
  });
  setHandler(m.statusQuery, () => status, { description: 'Stages, hosts, batches, instances, gates and backups of this upgrade' });
  setHandler(
    m.abortWithRollbackUpdate,
    (r) => {
      status.abort ??= { ...(r?.by ? { by: r.by } : {}), ...(r?.reason ? { reason: r.reason } : {}), at: now(), rollback: true };
      return published(run, status.abort);
    },
    {
      validator: (_request) => {
        if (status.outcome !== 'running') throw ApplicationFailure.nonRetryable(`the upgrade has already ended (${status.outcome})`, ErrorType.NotRunning);
      },
      description: 'Stop at the next safe point and roll back everything this run changed: {"by": "alice", "reason": "CHG-1234 withdrawn"}',
    },
  );
}

/** Every decision shows in the Web UI at once. */
function published<T>(run: FleetRun, result: T): T {
  run.publish();
  return result;
}
