// `tyk-upgrade report <id> [--out FILE] [--force]`: the full record of one upgrade as Markdown, for a change
// ticket. A finished upgrade is read from its history alone, so no worker is needed.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { findUpgrade, upgradeInput } from '../../client-lib/upgrades';
import { CliError, Exit } from '../exit-codes';
import { note, print } from '../output';
import { renderReport } from '../report';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';
import { statusOf } from './status';

export async function reportCommand(id: string, f: { out?: string; force?: boolean }, g: TemporalOptions): Promise<void> {
  // Refused before Temporal is asked anything: an existing file is someone's, and stays as it is.
  if (f.out && existsSync(f.out) && !f.force) throw exists(f.out);
  const text = await withTemporal(g, async (session) => {
    let taskQueue: string | undefined;
    try {
      const exec = await findUpgrade(session.client, id);
      taskQueue = exec.taskQueue;
      const [input, status] = await Promise.all([upgradeInput(session.client, exec.workflowId, exec.runId), statusOf(session, exec)]);
      return renderReport({ exec, input, status, webUi: session.link(exec.workflowId, exec.runId), now: new Date() });
    } catch (err) {
      throw explainTemporalError(err, `no report for ${id}`, taskQueue);
    }
  });
  if (!f.out) return print(text);
  await writeFile(f.out, text, { flag: f.force ? 'w' : 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw exists(f.out as string); // appeared while the report was being made
    throw new CliError(`cannot write ${f.out}: ${err.message}`, Exit.Usage);
  });
  note(`Wrote ${f.out}`);
}

function exists(file: string): CliError {
  return new CliError(`${file} already exists; write elsewhere with --out FILE, or replace it with --force`, Exit.Usage);
}
