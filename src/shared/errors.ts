// Failure types that no retry can fix. Activities throw ApplicationFailure with these types; the workflow's
// retry policies list them as non-retryable so a bad plan fails at once with its message.
export const ErrorType = {
  ContainerNotFound: 'ContainerNotFound',
  NotTyk: 'NotTyk',
  ImageNotFound: 'ImageNotFound',
  InvalidPlan: 'InvalidPlan',
  DowngradeRefused: 'DowngradeRefused',
  AlreadyAtTarget: 'AlreadyAtTarget',
  PluginBuildMissing: 'PluginBuildMissing',
  LeftoverContainer: 'LeftoverContainer',
  HealthCheckFailed: 'HealthCheckFailed',
  BackupMismatch: 'BackupMismatch',
  BackupNoSpace: 'BackupNoSpace',
  /** A host's backup folder is missing or cannot be written: refused at preflight, before anything stops. */
  BackupFolderUnusable: 'BackupFolderUnusable',
  /** A host's worker cannot reach its own Docker engine. */
  DockerUnreachable: 'DockerUnreachable',
  /** No worker polls a host's task queue, so nothing can run there. */
  NoWorker: 'NoWorker',
  // Load balancer (src/activities/load-balancer): the gateway is not in it, it refused a command, it did not
  // report the gateway up in time, or a hook kept failing until its own deadline (retried inside the activity).
  LoadBalancerServerNotFound: 'LoadBalancerServerNotFound',
  LoadBalancerRefused: 'LoadBalancerRefused',
  LoadBalancerNotReady: 'LoadBalancerNotReady',
  LoadBalancerHookFailed: 'LoadBalancerHookFailed',
} as const;
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];
export const NON_RETRYABLE: string[] = Object.values(ErrorType);
