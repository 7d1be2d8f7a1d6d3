// The command tree. Command modules are loaded when their command runs, so `tyk-upgrade status` does not pay
// for the worker and bundler, and a bad command line fails in milliseconds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, Option } from 'commander';
import { TASK_QUEUE, WORKER_DEADLINE_MS } from '../shared/names';
import { GATES, PAUSE_CHOICES, type GateName, type PauseChoice } from '../shared/types';
import { IMAGE_SOURCES } from '../sandbox/images';
import { SANDBOX_DEFAULTS } from '../sandbox/sandbox';
import { defaultBackupDir } from '../activities/backup-folder';
import { collect, durationAtLeast, durationOption, intIn, startAtOption } from './options';
import type { TemporalOptions } from './temporal';

const EXIT_CODES = `
Exit codes:
  0  done (watch, start --watch: the upgrade succeeded)
  1  unexpected error
  2  bad command line (unknown command or option, invalid value)
  3  bad plan file (unreadable, malformed YAML, invalid field)
  4  the stack is not ready (container missing or not Tyk, already at target, downgrade, image missing, ...)
  5  Docker engine unreachable
  6  Temporal unreachable, or no worker answered in time
  7  the workflow does not allow this (not found, already running, finished, gate not waiting)
  8  upgrade failed   9  upgrade rolled back   10  upgrade stopped (rejected, approval timed out, cancelled)
  11 a decision's signature was refused (unsigned when required, unknown key, bad signature, other upgrade or gate,
     re-used, too old)

Temporal settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE
(Temporal's environment configuration). Docker: DOCKER_HOST. Reference: docs/cli.md`;

const defaultQueue = () => process.env.TYK_UPGRADE_TASK_QUEUE ?? TASK_QUEUE;

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Global options (Temporal connection) merged with the command's own. */
function globals(cmd: Command): TemporalOptions {
  const o = cmd.optsWithGlobals() as TemporalOptions & { workerTimeout: number };
  return { address: o.address, namespace: o.namespace, profile: o.profile, uiUrl: o.uiUrl, workerTimeoutMs: o.workerTimeout };
}

/** Read when a command runs: the default depends on the user and TYK_UPGRADE_BACKUP_DIR. */
const backupDirOption = () =>
  new Option(
    '--backup-dir <dir>',
    "this worker's backup folder on its host; made at start when missing (under systemd and in the image: /var/lib/tyk-upgrade/backups)",
  ).default(defaultBackupDir(), 'TYK_UPGRADE_BACKUP_DIR, else $XDG_STATE_HOME/tyk-upgrade/backups or ~/.local/state/tyk-upgrade/backups');

const taskQueueOption = () => new Option('--task-queue <name>', 'task queue of the worker that runs the upgrade').default(defaultQueue(), TASK_QUEUE);
const signKeyOption = () =>
  new Option(
    '--sign-key <file>',
    'sign the decision with this SSH key: a private key file, or a .pub whose key is in ssh-agent (default: TYK_UPGRADE_SIGN_KEY); docs/approvals.md',
  );
const gateOption = (what: string) => new Option('--gate <gate>', `the gate to ${what} (default: the one waiting)`).choices(GATES);

export function buildProgram(): Command {
  const program = new Command('tyk-upgrade')
    .description('Upgrade Tyk Gateway and Tyk Pump in Docker as a durable Temporal workflow: backups, approval gates, health checks, automatic rollback.')
    .version(version())
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .option('--address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS, the profile, or 127.0.0.1:7233)')
    .option('--namespace <name>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, the profile, or default)')
    .option('--profile <name>', 'profile in the Temporal config file (default: TEMPORAL_PROFILE)')
    .option('--ui-url <url>', 'Temporal Web UI base URL for links (default: TEMPORAL_UI_URL, or the server port + 1000)')
    .addOption(
      new Option('--worker-timeout <duration>', 'how long a call waits for a worker to take its work (init, plan, start, status, approve), then exit 6')
        .argParser(durationAtLeast(1000))
        .default(WORKER_DEADLINE_MS, `${WORKER_DEADLINE_MS / 1000}s`),
    )
    .addHelpText('after', EXIT_CODES);

  program
    .command('dev')
    .description('run a Temporal dev server (Web UI, data kept in a file) and a worker in one process')
    .addOption(new Option('--port <port>', 'Temporal frontend port').argParser(intIn(1, 65535)).default(7233))
    .addOption(new Option('--ui-port <port>', 'Web UI port').argParser(intIn(1, 65535)).default(8233))
    .option('--db-file <path>', 'SQLite file that keeps workflows across restarts', '.tyk-upgrade/temporal.db')
    .addOption(taskQueueOption())
    .option('--log-level <level>', 'worker log level', 'WARN')
    .option('--notify <file>', 'webhooks to notify (YAML or JSON; default: TYK_UPGRADE_NOTIFY_FILE, or TYK_UPGRADE_WEBHOOK_URL); see docs/notifications.md')
    .addOption(backupDirOption())
    .action(async (f) => (await import('./commands/dev')).devCommand(f));

  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS (dev server, compose server or Temporal Cloud)')
    .addOption(taskQueueOption())
    .option('--host <name>', "this Docker host's name in fleet plans: poll tyk-upgrade.host.NAME for its activities (and run workflows)")
    .option(
      '--no-workflows',
      "with --host: this host's activities only, not the orchestration (a lighter worker; at least one worker of the fleet must run it)",
    )
    .addOption(
      new Option('--engine-wait <duration>', 'how long a container change waits for a Docker engine that does not answer before it fails')
        .argParser(durationOption)
        .default(60_000, '60s'),
    )
    .option('--log-level <level>', 'worker log level', 'WARN')
    .option('--notify <file>', 'webhooks to notify (YAML or JSON; default: TYK_UPGRADE_NOTIFY_FILE, or TYK_UPGRADE_WEBHOOK_URL); see docs/notifications.md')
    .addOption(backupDirOption())
    .action(async (f, cmd) => (await import('./commands/worker')).workerCommand(f, globals(cmd)));

  program
    .command('init')
    .description('ask the workers for the Tyk gateways and pumps on their Docker hosts and write a plan file for them')
    .requiredOption('--gateway-version <version>', 'target gateway version, e.g. v5.3.0')
    .option('--host <name>', 'only this host (repeatable; default: every host whose worker polls, or the local worker)', collect, [])
    .addOption(taskQueueOption())
    .option('--pump-version <version>', 'target pump version, e.g. v1.10.0 (needed when a pump is found)')
    .option('--label <key=value>', 'only containers with this label (repeatable)', collect, [])
    .option('--stack <name>', 'stack name (default: the sandbox or compose project label, else "tyk")')
    .option('-o, --output <file>', 'plan file to write', 'tyk-upgrade.yaml')
    .option('--backup-subfolder <name>', "backupSubfolder: a folder inside each host worker's backup folder for this stack (default: none, the folder itself)")
    .addOption(new Option('--backup-dir <path>').hideHelp())
    .option('--force', 'overwrite the plan file if it exists')
    .option('--allow-prerelease', 'accept pre-release target versions such as v5.3.0-rc1')
    .option('--haproxy-socket <path>', "fill loadBalancer: from HAProxy's stats socket (level admin) on the gateways' host")
    .option('--haproxy-address <host:port>', 'the same, from a TCP stats socket such as 127.0.0.1:9999')
    .option('--haproxy-backend <name>', 'the HAProxy backend that holds the gateways (when several would match)')
    .action(async (f, cmd) => (await import('./commands/init')).initCommand(f, globals(cmd)));

  const planOptions = (c: Command) =>
    c
      .requiredOption('-f, --file <plan>', 'plan file (YAML)')
      .option('--gateway-version <version>', "override the plan's gateway target")
      .option('--pump-version <version>', "override the plan's pump target")
      .option('--allow-downgrade', 'allow a target older than what runs')
      .option('--allow-prerelease', 'accept pre-release versions given on the command line');

  planOptions(program.command('plan'))
    .description("dry run through each host's worker: versions, images, batches, gates, backups; changes nothing")
    .addOption(taskQueueOption())
    .action(async (f, cmd) => (await import('./commands/plan')).planCommand(f, globals(cmd)));

  planOptions(program.command('start'))
    .description('check the plan through the workers, start the upgrade workflow, print its id and Web UI link')
    .addOption(taskQueueOption())
    .option('--watch', 'follow the upgrade until it ends (exit code as for watch)')
    .option('--auto-approve', 'approve every gate when it is reached (implies --watch)')
    .option('--by <name>', 'who approves, with --auto-approve or at the prompt (default: your user name)')
    .addOption(signKeyOption())
    .option('--skip-checks', "start without the dry run (the workflow's own preflight still checks everything)")
    .option('--at <time>', 'start later (Temporal start delay): an ISO time with offset (2026-11-28T02:00:00+01:00) or a delay (+2h)', startAtOption)
    .action(async (f, cmd) => {
      await (await import('./commands/start')).startCommand(f, globals(cmd));
    });

  program
    .command('status')
    .description('stages, containers, gates and backup of an upgrade')
    .argument('<id>', 'workflow id (tyk-upgrade-<stack>) or stack name')
    .option('--json', 'print JSON')
    .action(async (id, f, cmd) => (await import('./commands/status')).statusCommand(id, f, globals(cmd)));

  program
    .command('report')
    .description('the full record of one upgrade as Markdown, for a change ticket: plan, versions, gates, failures, backups')
    .argument('<id>', 'workflow id (tyk-upgrade-<stack>) or stack name')
    .option('--out <file>', 'write the report to this file instead of printing it')
    .option('--force', 'replace the --out file if it exists')
    .action(async (id, f, cmd) => (await import('./commands/report')).reportCommand(id, f, globals(cmd)));

  program
    .command('watch')
    .description('follow an upgrade live; asks at gates on a terminal; exits 0 on success')
    .argument('<id>', 'workflow id or stack name')
    .option('--auto-approve', 'approve every gate when it is reached')
    .option('--by <name>', 'who approves (default: your user name)')
    .addOption(signKeyOption())
    .action(async (id, f, cmd) => (await import('./commands/watch')).watchCommand(id, f, globals(cmd)));

  program
    .command('approve')
    .description('approve the gate an upgrade waits at')
    .argument('<id>', 'workflow id or stack name')
    .addOption(gateOption('approve'))
    .option('--comment <text>', 'why, for the record (e.g. a change ticket)')
    .option('--by <name>', "who approves (default: your user name; with --sign-key, the key owner's name in the plan)")
    .addOption(signKeyOption())
    .action(async (id, f, cmd) => (await import('./commands/decide')).decideCommand('approve', id, f, globals(cmd)));

  program
    .command('reject')
    .description('reject the gate an upgrade waits at: it stops before that stage')
    .argument('<id>', 'workflow id or stack name')
    .addOption(gateOption('reject'))
    .requiredOption('--reason <text>', 'why, for the record')
    .option('--by <name>', 'who rejects (default: your user name)')
    .option('--rollback', 'also roll back every instance this run changed (default: what was upgraded stays)')
    .addOption(signKeyOption())
    .action(async (id, f, cmd) => (await import('./commands/decide')).decideCommand('reject', id, f, globals(cmd)));

  program
    .command('resume')
    .description('decide for a paused fleet upgrade: retry the failed instances, continue without them, or roll back everything')
    .argument('<id>', 'workflow id or stack name')
    .addArgument(new Argument('<choice>', 'what to do').choices(PAUSE_CHOICES))
    .option('--comment <text>', 'why, for the record')
    .option('--by <name>', 'who decides (default: your user name)')
    .addOption(signKeyOption())
    .action(async (id, choice, f, cmd) => (await import('./commands/resume')).resumeCommand(id, choice, f, globals(cmd)));

  program
    .command('cancel')
    .description('stop an upgrade; a container being replaced is finished (healthy or rolled back) first')
    .argument('<id>', 'workflow id or stack name')
    .option('--rollback', 'also roll back every instance this run changed (a batch under way finishes first)')
    .option('--by <name>', 'who asks, with --rollback (default: your user name)')
    .option('--reason <text>', 'why, with --rollback, for the record')
    .addOption(signKeyOption())
    .action(async (id, f, cmd) => (await import('./commands/cancel')).cancelCommand(id, f, globals(cmd)));

  const sign = program.command('sign').description('sign a decision and print it as JSON for the Web UI (More Actions → Send an Update); sends nothing');
  const signAction =
    (what: (args: string[], f: Record<string, unknown>) => import('./commands/sign').SignWhat) =>
    async (...all: unknown[]) => {
      const cmd = all[all.length - 1] as Command;
      const f = cmd.opts();
      await (await import('./commands/sign')).signCommand(all[0] as string, what(all.slice(1, -2) as string[], f), f, globals(cmd));
    };
  sign
    .command('approve')
    .description('sign an approval of the waiting gate (or --gate)')
    .argument('<id>', 'workflow id or stack name')
    .addOption(gateOption('approve'))
    .option('--comment <text>', 'why, for the record')
    .addOption(signKeyOption())
    .action(signAction((_, f) => ({ decision: 'approve', gate: f.gate as GateName | undefined, comment: f.comment as string | undefined })));
  sign
    .command('reject')
    .description('sign a rejection of the waiting gate (or --gate)')
    .argument('<id>', 'workflow id or stack name')
    .addOption(gateOption('reject'))
    .requiredOption('--reason <text>', 'why, for the record')
    .option('--rollback', 'also roll back every instance this run changed')
    .addOption(signKeyOption())
    .action(signAction((_, f) => ({ decision: 'reject', gate: f.gate as GateName | undefined, comment: f.reason as string, rollback: f.rollback === true })));
  sign
    .command('resume')
    .description('sign the decision for a paused fleet')
    .argument('<id>', 'workflow id or stack name')
    .addArgument(new Argument('<choice>', 'what to do').choices(PAUSE_CHOICES))
    .option('--comment <text>', 'why, for the record')
    .addOption(signKeyOption())
    .action(signAction(([choice], f) => ({ decision: 'resume', choice: choice as PauseChoice, comment: f.comment as string | undefined })));
  sign
    .command('cancel')
    .description('sign a cancel with rollback (a plain cancel is not a signed decision)')
    .argument('<id>', 'workflow id or stack name')
    .option('--reason <text>', 'why, for the record')
    .addOption(signKeyOption())
    .action(signAction((_, f) => ({ decision: 'cancel', reason: f.reason as string | undefined })));

  program
    .command('list')
    .description('recent upgrades, newest first')
    .addOption(new Option('--limit <n>', 'how many').argParser(intIn(1, 1000)).default(20))
    .option('--json', 'print JSON')
    .action(async (f, cmd) => (await import('./commands/list')).listCommand(f, globals(cmd)));

  const sandbox = program.command('sandbox').description('a throwaway Tyk stack (Redis, gateway, pump) to rehearse upgrades on');
  const d = SANDBOX_DEFAULTS;
  sandbox
    .command('up')
    .description(`create it: ports on 127.0.0.1 (${d.gatewayPort}, ${d.pumpPort}, ${d.redisPort}) away from a real stack's`)
    .option('--name <name>', 'sandbox name (container name prefix)', d.name)
    .option('--gateway-version <version>', 'gateway version', d.gatewayVersion)
    .option('--pump-version <version>', 'pump version', d.pumpVersion)
    .option('--no-pump', 'no pump')
    .addOption(new Option('--gateways <n>', 'number of gateways').argParser(intIn(1, 10)).default(1))
    .addOption(new Option('--port <port>', 'first gateway port').argParser(intIn(1024, 65535)).default(d.gatewayPort))
    .addOption(new Option('--pump-port <port>', 'pump health port').argParser(intIn(1024, 65535)).default(d.pumpPort))
    .addOption(new Option('--redis-port <port>', 'Redis port').argParser(intIn(1024, 65535)).default(d.redisPort))
    .option('--dir <path>', 'folder for its config files (default: .tyk-upgrade/sandbox/<name>)')
    .addOption(
      new Option('--images <source>', "real Tyk or the stand-ins from --registry (both built by the rig), Tyk's published images, or auto")
        .choices(['auto', ...IMAGE_SOURCES])
        .default('auto'),
    )
    .option('--registry <host:port>', 'registry holding the rig-built images (real Tyk, stand-ins)', d.registry)
    .action(async (f) => (await import('./commands/sandbox')).sandboxUpCommand(f));
  sandbox
    .command('down')
    .description('remove its containers (also any an upgrade renamed) and its folder')
    .option('--name <name>', 'sandbox name', d.name)
    .option('--dir <path>', 'its folder, if not the default')
    .action(async (f) => (await import('./commands/sandbox')).sandboxDownCommand(f));
  sandbox
    .command('status')
    .description('containers of each sandbox with their state and version')
    .option('--name <name>', 'only this sandbox')
    .action(async (f) => (await import('./commands/sandbox')).sandboxStatusCommand(f));

  program
    .command('doctor')
    .description('check what an upgrade needs (Temporal, search attributes, workers, Docker, images, leftovers, dev servers, backup folder) and how to fix it')
    .option('--task-queue <name>', 'task queue a worker must poll (repeatable)', collect, [])
    .option('--host <name>', 'a fleet host whose worker must poll (repeatable; hosts seen on the task queue are checked anyway)', collect, [])
    .addOption(
      new Option('--backup-dir <dir>', "the worker's backup folder to check (as its --backup-dir)").default(
        defaultBackupDir(),
        'TYK_UPGRADE_BACKUP_DIR, else ~/.local/state/tyk-upgrade/backups',
      ),
    )
    .option('--db-file <path>', "dev server's db file to check", '.tyk-upgrade/temporal.db')
    .action(async (f, cmd) =>
      (await import('./commands/doctor')).doctorCommand({ ...f, taskQueue: f.taskQueue.length ? f.taskQueue : [defaultQueue()] }, globals(cmd)),
    );

  program
    .command('demo')
    .description('the whole product in one command: dev server, worker, sandbox at v5.2.0, upgrade to v5.3.0 with approvals')
    .option('--keep', 'keep the sandbox afterwards')
    .option('--notify <file>', 'webhooks to notify (YAML or JSON; default: TYK_UPGRADE_NOTIFY_FILE, or TYK_UPGRADE_WEBHOOK_URL); see docs/notifications.md')
    .action(async (f) => (await import('./commands/demo')).demoCommand(f));

  return program;
}
