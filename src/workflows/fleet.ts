// The upgrade of one Tyk stack on one host or a fleet of hosts:
// preflight → backup ∥ pull (each host on its own worker, in parallel) → gate → gateways batch by batch (a child
// workflow per batch; past maxHistoryEvents the run continues as new between batches) → [gate after the canary]
// → gate → pumps → verify; compose files follow (fleet/compose.ts); each batch makes the next one's replacements
// while it soaks (fleet/ahead.ts).
// A failure past the plan's budget rolls back everything this run changed on every host, or pauses for a person.
// This file is the sequence and the handlers; each step lives in src/workflows/fleet/ under its own name
// (docs/architecture.md). Deterministic workflow code: no Node modules, no I/O; every side effect is an activity.
import { ApplicationFailure, CancellationScope, setHandler, workflowInfo } from '@temporalio/workflow';
import { ErrorType } from '../shared/errors';
import { instanceKey } from '../shared/names';
import type { VerifiedSignature } from '../shared/signed-decisions';
import type { BatchStatus, Decision, PauseDecision, UpgradeInput, UpgradeStatus } from '../shared/types';
import { aheadOf } from './fleet/ahead';
import { runBatch } from './fleet/batches';
import { continueUpgrade, isContinueAsNew, timeToContinue } from './fleet/continue';
import { finish, finishFailed } from './fleet/finish';
import { applyApproval, applyDecision, approvalRules, awaitGate, validateApprover, validateDecision, waitingGate } from './fleet/gates';
import { prepareCompose, settleCompose } from './fleet/compose';
import { backupAndPull, preflight, verify } from './fleet/hosts';
import { applyPauseDecision, pauseDecisionFits, validatePauseDecision, withinBudget } from './fleet/pauses';
import { FleetRun, now } from './fleet/run';
import {
  asSigned,
  recordRefusal,
  recordSignature,
  signatureRules,
  verifyAbort,
  verifyGateDecision,
  verifyPauseDecision,
  verifyStart,
} from './fleet/signatures';
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
      // Signed plans: the start must be, before anything is touched (checked at the time it was asked for).
      verifyStart(run.status, input, { workflowId: run.workflowId, now: workflowInfo().startTime.getTime() });
      await preflight(run);
      await backupAndPull(run);
      await prepareCompose(run);
      await awaitGate(run, 'before-gateways');
      run.enterStage('gateways');
    }
    const batches = run.gatewayBatches();
    for (let i = run.firstBatch; i < batches.length; i++) {
      const batch = batches[i];
      if (i > run.firstBatch && timeToContinue(run)) return await continueUpgrade(run, i);
      safePoint(run);
      await awaitWindow(run);
      await runBatch(run, batch.name, batch.instances, batch, aheadOf(run, batches, i));
      await withinBudget(run);
      if (i === 0 && batches.length > 1) await awaitGate(run, 'after-canary');
    }
    run.endStage('gateways');
    await settleCompose(run, 'gateways');
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
    await settleCompose(run, 'all');
    safePoint(run);
    await verify(run);
    return await finish(run);
  } catch (err) {
    if (run.status.outcome === 'partial' || isContinueAsNew(err)) throw err;
    return await CancellationScope.nonCancellable(() => finishFailed(run, err));
  }
}

/**
 * Approvals, pauses and aborts as validated Updates (and Signals with the same meaning); the status as a Query.
 * With approvers in the plan each decision's signature is checked first (fleet/signatures.ts), and what it
 * signed is what counts.
 */
function registerHandlers(run: FleetRun): void {
  const { status } = run;
  const rules = approvalRules(run.input);
  const signing = signatureRules(run.input);
  const ctx = () => ({ workflowId: run.workflowId, now: Date.now() });
  /** The gate decision as it counts: the verified statement's name, comment and rollback when it is signed. */
  const gateDecision = (given: Decision, decision: 'approve' | 'reject'): Taken<Decision> => {
    const v = verifyGateDecision(status, signing, given, decision, ctx());
    const d = asSigned(given, v);
    return { d: v && decision === 'reject' ? { ...d, rollback: v.statement.decision === 'reject-rollback' } : d, signer: v?.signer };
  };
  const approve = (t: Taken<Decision>) => {
    recordSignature(status, t.signer);
    return published(run, applyApproval(status, rules, t.d, t.signer));
  };
  const reject = (t: Taken<Decision>) => {
    if (t.d.rollback) run.rejectedWithRollback = true;
    recordSignature(status, t.signer);
    return published(run, applyDecision(status, t.d, 'rejected', t.signer));
  };
  const pauseDecision = (given: PauseDecision): Taken<PauseDecision> => {
    const v = verifyPauseDecision(status, signing, given, ctx());
    return { d: asSigned(given, v), signer: v?.signer };
  };
  const resolvePause = (t: Taken<PauseDecision>) => {
    recordSignature(status, t.signer);
    return published(run, applyPauseDecision(status, t.d, t.signer));
  };
  /** A Signal cannot be refused: one the rules refuse does not count, and with approvers the refusal is kept. */
  const orRefused = <T>(asked: string, check: () => T): T | undefined => {
    try {
      return check();
    } catch (err) {
      if (signing) {
        recordRefusal(status, asked, err, now());
        run.publish();
      }
      return undefined;
    }
  };
  const gateAsked = (verb: string, d: Decision) => `${verb} gate ${d.gate ?? waitingGate(status)?.gate}${d.by ? ` as ${d.by}` : ''}`;

  // The Web UI sends no argument when its Data box is left empty: a missing payload is read as {}.
  setHandler(m.approveUpdate, (d) => approve(gateDecision(d ?? {}, 'approve')), {
    validator: (d) => {
      validateDecision(status, d ?? {});
      const t = gateDecision(d ?? {}, 'approve');
      validateApprover(status, rules, t.d, t.signer);
    },
    description: 'Approve the waiting gate: {"gate": "before-gateways", "by": "alice", "comment": "CHG-1234"}',
  });
  setHandler(m.rejectUpdate, (d) => reject(gateDecision(d ?? {}, 'reject')), {
    validator: (d) => {
      validateDecision(status, d ?? {});
      gateDecision(d ?? {}, 'reject');
    },
    description: 'Reject the waiting gate: {"gate": "before-pump", "by": "alice", "comment": "why"}',
  });
  setHandler(
    m.approveSignal,
    (given) => {
      const d = given ?? {};
      if (!waitingGate(status, d.gate)) return;
      const t = orRefused(gateAsked('approve', d), () => {
        const taken = gateDecision(d, 'approve');
        validateApprover(status, rules, taken.d, taken.signer);
        return taken;
      });
      if (t) approve(t);
    },
    { description: 'Approve the waiting gate (ignored when none waits, or when the four-eyes rules or its signature refuse it)' },
  );
  setHandler(
    m.rejectSignal,
    (given) => {
      const d = given ?? {};
      if (!waitingGate(status, d.gate)) return;
      const t = orRefused(gateAsked('reject', d), () => gateDecision(d, 'reject'));
      if (t) reject(t);
    },
    { description: 'Reject the waiting gate (ignored when none waits, or when its signature is refused)' },
  );
  setHandler(m.resolvePauseUpdate, (d) => resolvePause(pauseDecision(d)), {
    validator: (d) => {
      validatePauseDecision(status, d);
      pauseDecision(d);
    },
    description: 'Resolve a paused fleet: {"choice": "retry" | "continue" | "rollback", "by": "alice"}',
  });
  setHandler(
    m.resolvePauseSignal,
    (d) => {
      if (!pauseDecisionFits(status, d)) return;
      const t = orRefused(`resume pause ${status.pause?.number}: ${d.choice}`, () => pauseDecision(d));
      if (t) resolvePause(t);
    },
    { description: 'Resolve a paused fleet (ignored when not paused, the choice is unknown, or its signature is refused)' },
  );
  setHandler(m.statusQuery, () => status, { description: 'Stages, hosts, batches, instances, gates and backups of this upgrade' });
  setHandler(
    m.abortWithRollbackUpdate,
    (r) => {
      if (!status.abort) {
        const v = verifyAbort(status, signing, r ?? {}, ctx());
        const { by, comment } = asSigned({ by: r?.by, comment: r?.reason }, v);
        recordSignature(status, v?.signer);
        status.abort = { ...(by ? { by } : {}), ...(comment ? { reason: comment } : {}), at: now(), rollback: true, ...(v ? { signer: v.signer } : {}) };
      }
      return published(run, status.abort);
    },
    {
      validator: (r) => {
        if (status.outcome !== 'running') throw ApplicationFailure.nonRetryable(`the upgrade has already ended (${status.outcome})`, ErrorType.NotRunning);
        if (!status.abort) verifyAbort(status, signing, r ?? {}, ctx());
      },
      description: 'Stop at the next safe point and roll back everything this run changed: {"by": "alice", "reason": "CHG-1234 withdrawn"}',
    },
  );
}

/** A decision as it counts, and the signature it was taken on (none when unsigned). */
interface Taken<D> {
  d: D;
  signer: VerifiedSignature | undefined;
}

/** Every decision shows in the Web UI at once. */
function published<T>(run: FleetRun, result: T): T {
  run.publish();
  return result;
}
