// The worker's notification webhooks (--notify FILE, TYK_UPGRADE_NOTIFY_FILE or TYK_UPGRADE_WEBHOOK_URL), read once
// at start: a worker whose config is wrong refuses to start (exit 2, nothing changed) rather than failing its first
// notification in the middle of an upgrade. What it prints names webhooks, formats and filters, never a URL.
import { describeNotifyConfig, loadNotifyConfig, NotifyConfigError, type NotifyConfig } from '../notify/config';
import { CliError, Exit } from './exit-codes';
import { note } from './output';

export function workerNotifyConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): NotifyConfig | undefined {
  try {
    const { config, warnings } = loadNotifyConfig(file, env);
    for (const w of warnings) note(`notifications: warning: ${w}`);
    return config;
  } catch (err) {
    if (err instanceof NotifyConfigError) throw new CliError(`cannot start the worker: ${err.message} (docs/notifications.md)`, Exit.Usage);
    throw err;
  }
}

/** The line the worker prints at start; nothing when no notifications are configured. */
export function announceNotify(config: NotifyConfig | undefined): void {
  if (config) note(describeNotifyConfig(config));
}
