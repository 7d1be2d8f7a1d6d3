// What changed between two readings of an upgrade's status, as lines a person watching can follow. Pure.
import { approvalCount, approverName } from '../shared/approvals';
import { instanceKey } from '../shared/names';
import { signedBy } from '../shared/signed-decisions';
import { GATES, type UpgradeStatus } from '../shared/types';

const isGate = (name: string) => (GATES as readonly string[]).includes(name);

/** In the order things happen: a decision, then the stages it let run, their containers, then a new wait. */
export function statusEvents(prev: UpgradeStatus | undefined, next: UpgradeStatus): string[] {
  const decided: string[] = [];
  const waiting: string[] = [];
  for (const g of next.gates) {
    const was = prev?.gates.find((p) => p.gate === g.gate);
    const before = was?.state;
    // Four-eyes: each approval that does not yet open the gate is news too.
    const approvals = g.approvals ?? [];
    for (let n = was?.approvals?.length ?? 0; g.state === 'waiting' && n < approvals.length; n++) {
      const a = approvals[n];
      decided.push(
        `gate ${g.gate}: approved by ${approverName(a)}${a.comment ? ` ("${a.comment}")` : ''} (${approvalCount(g, { names: false, count: n + 1 })})`,
      );
    }
    if (g.state === before || g.state === 'not-reached' || g.state === 'skipped') continue;
    if (g.state === 'waiting') waiting.push(`gate ${g.gate}: waiting for approval${g.required ? ` (${approvalCount(g, { names: false })})` : ''}`);
    else if (g.state === 'approved' || g.state === 'rejected')
      decided.push(`gate ${g.gate}: ${g.state} by ${g.signer ? signedBy(g.signer) : g.by}${g.comment ? ` ("${g.comment}")` : ''}`);
    else decided.push(`gate ${g.gate}: ${g.state}`);
  }
  const out = [...decided];
  for (const st of next.stages) {
    const before = prev?.stages.find((s) => s.name === st.name)?.state ?? 'pending';
    if (st.state !== before && !isGate(st.name)) out.push(`stage ${st.name}: ${st.state}`);
  }
  for (const b of next.backups.slice(prev?.backups.length ?? 0)) out.push(`backup${b.host ? ` on ${b.host}` : ''}: ${b.files} files in ${b.dir}; ${b.redis}`);
  if (next.pull && !prev?.pull) out.push(next.pull);
  for (const b of next.batches) {
    const before = prev?.batches.find((p) => p.name === b.name)?.state;
    if (b.state !== before && b.state !== 'pending') out.push(`batch ${b.name} (${b.instances.join(', ')}): ${b.state}`);
  }
  for (const i of next.instances) {
    const key = instanceKey(i);
    const before = prev?.instances.find((p) => instanceKey(p) === key);
    if (!before) out.push(`${key} (${i.role}): ${i.fromVersion ?? '?'} → ${i.toVersion}, ${i.state}`);
    else if (before.state !== i.state || before.detail !== i.detail) out.push(`${key}: ${i.state}${i.detail ? ` (${i.detail})` : ''}`);
    if (i.serving && i.serving !== before?.serving) out.push(`${key} serves: ${i.serving}`);
  }
  for (const f of next.compose ?? []) {
    const before = prev?.compose?.find((p) => p.path === f.path && p.host === f.host);
    if (before?.state !== f.state)
      out.push(`compose file ${f.host ? `${f.host}:` : ''}${f.path} (${f.services.join(', ')}): ${f.state}${f.detail ? ` (${f.detail})` : ''}`);
  }
  if (next.pause && (next.pause.number !== prev?.pause?.number || next.pause.state !== prev?.pause?.state)) {
    const p = next.pause;
    const what = p.kind === 'window' ? 'waiting for the maintenance window' : 'paused';
    out.push(
      p.state === 'waiting'
        ? `${what}: ${p.reason}`
        : `${p.kind === 'window' ? 'window wait' : 'pause'} ${p.state}${p.choice ? `: ${p.choice} by ${p.signer ? signedBy(p.signer) : p.by}` : ''}`,
    );
  }
  for (const r of (next.refused ?? []).slice(prev?.refused?.length ?? 0)) out.push(`refused (not acted on): ${r.asked}: ${r.message}`);
  out.push(...waiting);
  for (const e of next.errors.slice(prev?.errors.length ?? 0)) if (e !== next.reason) out.push(e);
  if (next.outcome !== 'running' && next.outcome !== prev?.outcome) {
    out.push(`upgrade ${next.outcome}${next.reason ? `: ${next.reason}` : ''}`);
  }
  return out;
}
