// How long each kind of activity may take and how it retries. Deterministic: workflow code only.
import type { RetryPolicy } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE } from '../shared/errors';

export const retry = (maximumAttempts: number): RetryPolicy => ({
  maximumAttempts,
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  nonRetryableErrorTypes: NON_RETRYABLE,
});

// Heartbeats let a dead worker be noticed in seconds rather than at the start-to-close timeout.
export const SHORT: ActivityOptions = { startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry: retry(5) };
export const PULL: ActivityOptions = { startToCloseTimeout: '30m', heartbeatTimeout: '10s', retry: retry(4) };
export const DOCKER_CHANGE: ActivityOptions = { startToCloseTimeout: '10m', heartbeatTimeout: '10s', retry: retry(10) };
/**
 * Notifications run on the workflow's own queue (in a fleet, every host's worker serves it). The activity
 * retries each webhook itself within its deadline; these attempts only cover a worker that died mid-send. A
 * queue where no worker takes it (an old worker) costs a warning after a minute, never a run that cannot end.
 */
export const NOTIFY: ActivityOptions = { scheduleToStartTimeout: '1m', startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry: retry(3) };
/**
 * The first call to a host: when no worker takes it within this time, the host has no worker polling, and the
 * run stops before anything changed rather than waiting for one forever.
 */
export const FIRST_CONTACT_MS = 30_000;
