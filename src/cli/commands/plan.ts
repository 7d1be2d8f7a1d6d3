// `tyk-upgrade plan -f plan.yaml`: the dry run. Each host's worker reads its own engine; nothing changes.
import { loadPlan, type LoadedPlan } from '../../plan/load';
import { CliError, Exit } from '../exit-codes';
import { versionOption } from '../options';
import { print } from '../output';
import { mergeReports, renderDryRun } from '../render';
import { withTemporal, type TemporalOptions } from '../temporal';
import { fleetDryRun } from '../workers';

export interface PlanFlags {
  file: string;
  gatewayVersion?: string;
  pumpVersion?: string;
  allowDowngrade?: boolean;
  allowPrerelease?: boolean;
  taskQueue: string;
}

/** The plan with the command line's overrides; flags are checked first (exit 2), then the file (exit 3). */
export async function loadPlanWithFlags(f: PlanFlags): Promise<LoadedPlan> {
  const gatewayVersion = versionOption('--gateway-version', f.gatewayVersion, !!f.allowPrerelease, 'v5.3.0');
  const pumpVersion = versionOption('--pump-version', f.pumpVersion, !!f.allowPrerelease, 'v1.10.0');
  const loaded = await loadPlan(f.file, { gatewayVersion, pumpVersion, allowDowngrade: f.allowDowngrade || undefined });
  if (pumpVersion && !loaded.input.pumps.length) throw new CliError(`--pump-version: ${f.file} names no pump to upgrade`, Exit.Usage);
  return loaded;
}

export async function planCommand(f: PlanFlags, g: TemporalOptions): Promise<void> {
  const { input, file } = await loadPlanWithFlags(f);
  await withTemporal(g, async (session) => {
    const { reports, dockerDown } = await fleetDryRun(session, input, f.taskQueue);
    const report = mergeReports(reports);
    print(renderDryRun(input, report, file));
    if (report.problems.length) {
      throw new CliError(
        `the stack is not ready for this plan (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}, listed above)`,
        dockerDown ? Exit.DockerUnreachable : Exit.StackNotReady,
      );
    }
  });
}
