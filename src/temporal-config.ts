// How the worker and the CLI reach Temporal: Temporal's own environment configuration (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings, TEMPORAL_PROFILE and the TOML profiles file), so the
// same settings work for the embedded dev server, the compose server and Temporal Cloud.
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';

export interface TemporalTarget {
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
}

export function temporalTarget(overrides: { address?: string; namespace?: string; profile?: string } = {}): TemporalTarget {
  const cfg = loadClientConnectConfig({ profile: overrides.profile ?? process.env.TEMPORAL_PROFILE });
  const address = overrides.address ?? cfg.connectionOptions.address ?? DEFAULT_ADDRESS;
  return {
    connectionOptions: { ...cfg.connectionOptions, address },
    namespace: overrides.namespace ?? cfg.namespace ?? 'default',
  };
}
