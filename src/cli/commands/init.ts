// `tyk-upgrade init`: finds the Tyk gateways and pump on the engine and writes a plan file for them.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parsePlanText } from '../../plan/parse';
import { PlanError } from '../../plan/problems';
import { renderPlan } from '../../plan/render';
import { connectDocker, dockerAddress } from '../docker';
import { discoverTyk, type FoundContainer } from '../discover';
import { CliError, Exit } from '../exit-codes';
import { versionOption } from '../options';
import { note, print } from '../output';
import { table } from '../table';

export interface InitFlags {
  label: string[];
  stack?: string;
  gatewayVersion: string;
  pumpVersion?: string;
  allowPrerelease?: boolean;
  output: string;
  force?: boolean;
  backupDir?: string;
}

export async function initCommand(f: InitFlags): Promise<void> {
  const gatewayVersion = versionOption('--gateway-version', f.gatewayVersion, !!f.allowPrerelease, 'v5.3.0') as string;
  const pumpVersion = versionOption('--pump-version', f.pumpVersion, !!f.allowPrerelease, 'v1.10.0');
  if (existsSync(f.output) && !f.force) {
    throw new CliError(`${f.output} already exists; write elsewhere with -o FILE, or replace it with --force`, Exit.Usage);
  }
  const docker = await connectDocker();
  const found = await discoverTyk(docker, f.label);
  const where = `on ${dockerAddress()}${f.label.length ? ` with label ${f.label.join(', ')}` : ''}`;
  const gateways = found.filter((c) => c.role === 'gateway');
  const pumps = found.filter((c) => c.role === 'pump');
  if (!gateways.length) {
    throw new CliError(
      `no running Tyk gateway container found ${where}. Tyk containers are recognised by an image named *tyk-gateway* or *tyk-pump*, ` +
        'the entrypoint /opt/tyk-gateway/tyk, or the label io.tyk-upgrade.role=gateway|pump; start them, or change --label',
      Exit.StackNotReady,
    );
  }
  const groups = [...new Set(found.map((c) => c.group ?? '(no project label)'))];
  if (groups.length > 1) {
    throw new CliError(
      `found Tyk containers of ${groups.length} stacks ${where} (${groups.join(', ')}); a plan covers one: ` +
        'choose with --label io.tyk-upgrade.sandbox=NAME or --label com.docker.compose.project=NAME',
      Exit.StackNotReady,
    );
  }
  if (pumps.length > 1) {
    throw new CliError(`found ${pumps.length} Tyk Pump containers (${pumps.map((p) => p.container).join(', ')}); a plan covers one: narrow the search with --label`, Exit.StackNotReady);
  }
  const pump = pumps[0];
  if (pump && !pumpVersion) throw new CliError(`found the pump "${pump.container}"; give its target version with --pump-version (e.g. v1.10.0)`, Exit.Usage);
  if (!pump && pumpVersion) note(`note: no Tyk Pump container found ${where}; --pump-version is ignored`);

  const stack = f.stack ?? found[0].group ?? 'tyk';
  const text = renderPlan({
    stack,
    gatewayVersion,
    gateways: gateways.map((g) => ({ container: g.container, url: g.url, helloPath: g.helloPath, current: g.version })),
    pump: pump && pumpVersion ? { container: pump.container, healthUrl: pump.url, version: pumpVersion, current: pump.version } : undefined,
    source: `found ${where}`,
    backupDir: f.backupDir,
  });
  try {
    parsePlanText(text, f.output); // never write a plan that `plan` would refuse
  } catch (err) {
    if (err instanceof PlanError) throw new CliError(`cannot write a valid plan from what was found:\n${err.message}`, Exit.Usage);
    throw err;
  }
  await writeFile(f.output, text, { flag: f.force ? 'w' : 'wx' });
  print(`Found ${where}:`);
  print(table([['CONTAINER', 'ROLE', 'VERSION', 'HEALTH URL'], ...found.map(row)]));
  for (const c of found) if (c.note) note(`note: ${c.container}: ${c.note}`);
  print(`Wrote ${f.output} (stack "${stack}"). Next: tyk-upgrade plan -f ${f.output}`);
}

function row(c: FoundContainer): string[] {
  return [c.container, c.role, c.version ?? '?', c.role === 'gateway' ? `${c.url}/${c.helloPath}` : c.url];
}
