// Exit codes of tyk-upgrade, documented in docs/cli.md. Scripts rely on them: change only with the docs.
// In shared because every failure type of ours names the exit code it means (src/shared/errors.ts).
export const Exit = {
  Ok: 0,
  /** A bug or a failure nobody foresaw; the message says what happened. */
  Unexpected: 1,
  /** The command line is wrong: unknown command or option, missing or invalid value. */
  Usage: 2,
  /** The plan file cannot be read or is not a valid plan. */
  BadPlan: 3,
  /** The stack is not ready for the plan: container missing or not Tyk, already at target, image missing, ... */
  StackNotReady: 4,
  DockerUnreachable: 5,
  /** Temporal cannot be reached, or no worker answered in time. */
  TemporalUnreachable: 6,
  /** The workflow is not in a state that allows this: not found, already running, finished, gate not waiting. */
  WorkflowState: 7,
  UpgradeFailed: 8,
  UpgradeRolledBack: 9,
  /** A person stopped the upgrade: rejected, approval timed out, cancelled or terminated. */
  UpgradeStopped: 10,
  /** A decision's signature was refused: unsigned when required, bad or unknown key, another upgrade or gate, re-used, too old. */
  SignatureRefused: 11,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];
