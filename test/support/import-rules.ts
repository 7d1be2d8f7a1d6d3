// What each part of src/ may import: the rules test/imports.test.ts enforces and docs/architecture.md states as a
// table (test/architecture-doc.test.ts fails when the two differ).

/** What each part of src/ may import (value imports); `types` lists what it may name in `import type` only. */
export const ALLOWED: Record<string, { values: string[]; types?: string[] }> = {
  shared: { values: [] },
  plan: { values: ['shared'] },
  notify: { values: ['shared'] },
  devserver: { values: ['shared'] },
  // Builds the real Tyk images from Tyk's source for the rig, with the Go build helpers of devserver.
  'real-tyk': { values: ['shared', 'devserver'] },
  activities: { values: ['shared', 'notify'] },
  workflows: { values: ['shared'], types: ['activities'] },
  'temporal-config': { values: ['shared'] },
  sandbox: { values: ['shared', 'activities'] },
  'client-lib': { values: ['shared', 'workflows'], types: ['activities'] },
  // Finds the prebuilt workflow bundle (it names the workflows by path, never imports them).
  'workflow-bundle': { values: [] },
  worker: { values: ['shared', 'activities', 'notify', 'workflow-bundle'] },
  cli: { values: ['shared', 'plan', 'notify', 'devserver', 'activities', 'workflows', 'temporal-config', 'sandbox', 'client-lib', 'worker'] },
  client: { values: ['cli'] },
};
