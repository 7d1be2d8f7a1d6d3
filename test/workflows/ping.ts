// A trivial workflow that proves the rig's Temporal server runs workflows end to end.
import { sleep } from '@temporalio/workflow';

export async function ping(name: string): Promise<string> {
  await sleep(10);
  return `pong ${name}`;
}
