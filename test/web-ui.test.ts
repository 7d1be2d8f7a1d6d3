// The Temporal Web UI, in headless Chromium, shows a running upgrade: its summary, the current details
// with the stage table, and the gate that waits for approval.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { tempDir } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { waitForGate } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
let browser: Browser;
let stack: TestStack;
before(async () => {
  stack = await testStack({ prefix: 'webui', pump: false });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  await stack.remove();
});

describe('Temporal Web UI', () => {
  it('shows the running upgrade, its current details and the pending approval', async () => {
    const handle = await startUpgrade(t.env.client, stack.input(), { taskQueue: t.worker.taskQueue });
    await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
    const runId = (await handle.describe()).runId;
    const page = await browser.newPage({ viewport: { width: 1400, height: 2200 } });
    const ui = process.env.TEMPORAL_UI_URL as string;
    await page.goto(`${ui}/namespaces/default/workflows/${handle.workflowId}/${runId}/history`, { waitUntil: 'domcontentloaded' });
    await page.getByText('Running').first().waitFor({ timeout: 30_000 });
    await page.getByText('pullImages • Pull').first().waitFor({ timeout: 30_000 });
    // Summary, details and current details live under "User Metadata".
    await page
      .getByRole('link', { name: 'User Metadata' })
      .or(page.getByRole('tab', { name: 'User Metadata' }))
      .first()
      .click();
    // The Markdown is rendered in frames of its own: read the text of every frame.
    const allText = async () =>
      (
        await Promise.all(
          page.frames().map((f) =>
            f
              .locator('body')
              .innerText()
              .catch(() => ''),
          ),
        )
      ).join('\n');
    let text = '';
    for (let i = 0; i < 100 && !/Waiting for approval at before-gateways/.test(text); i++) {
      await page.waitForTimeout(300);
      text = await allText();
    }
    await page.screenshot({ path: `${tempDir('webui')}/upgrade.png`, fullPage: true });
    assert.match(text, new RegExp(`Upgrade Tyk stack ${stack.name} to gateway 5\\.3\\.0`), 'static summary shown');
    assert.match(text, /Waiting for approval at before-gateways/, 'current details show the waiting gate');
    assert.match(text, /preflight/);
    assert.match(text, /pull/);

    // The list view filters by our typed search attributes.
    const query = encodeURIComponent(`TykStack="${stack.name}" AND TykStage="before-gateways"`);
    await page.goto(`${ui}/namespaces/default/workflows?query=${query}`, { waitUntil: 'domcontentloaded' });
    await page.getByText(handle.workflowId).first().waitFor({ timeout: 30_000 });

    await decide(t.env.client, handle.workflowId, 'approve', { by: 'ui-test' });
    assert.equal((await handle.result()).outcome, 'succeeded');
  });
});
