// The Temporal Web UI, in headless Chromium, shows a running upgrade: its summary, the current details
// with the stage table, and the gate that waits for approval.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { dryRunPlan } from '../src/client-lib/fleet';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { runCli } from './support/cli';
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

  it('the list `tyk-upgrade list` links to shows the upgrades, with stack, target and stage as docs/cli.md sets them up, and not the look-only runs or batches', async () => {
    const two = await testStack({ prefix: 'webui-list', gateways: 2, pump: false });
    try {
      // A look-only run (the dry run `plan` and `start` make), then an upgrade waiting after its canary batch.
      const [dry] = await dryRunPlan(t.env.client, two.input(), t.worker.taskQueue);
      assert.deepEqual(dry.result?.problems, []);
      const handle = await startUpgrade(t.env.client, two.input({ gates: ['after-canary'], batchSize: 1 }), { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, handle.workflowId, 'after-canary');
      const batch = `${handle.workflowId}/batch-1`;
      const looks: string[] = [];
      for await (const w of t.env.client.workflow.list({ query: `TaskQueue = "${t.worker.taskQueue}" AND WorkflowType = "dryRunFleet"` }))
        looks.push(w.workflowId);
      assert.equal(looks.length, 1, 'the look-only run is in the namespace');
      assert.equal((await t.env.client.workflow.getHandle(batch).describe()).status.name, 'COMPLETED', 'so is the batch child');

      const listed = await runCli(['list']);
      assert.equal(listed.code, 0, listed.stderr);
      const link = /In the Web UI \(upgrades only, no look-only runs or batches\): (\S+)$/m.exec(listed.stdout)?.[1];
      assert.ok(link, listed.stdout);
      const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
      await page.goto(link, { waitUntil: 'domcontentloaded' });
      const rows = page.getByTestId('workflows-summary-configurable-table-row');
      await rows.filter({ hasText: handle.workflowId }).waitFor({ timeout: 30_000 });
      // What docs/cli.md tells an operator to click once: the table's ⚙, Run ID out, the three Tyk columns in.
      await page.getByTestId('workflows-summary-table-configuration-button').click();
      await page.getByRole('button', { name: 'Remove Run ID column' }).click();
      for (const c of ['TykStack', 'TykTargetVersion', 'TykStage']) await page.getByRole('button', { name: `Add ${c} column` }).click();
      await page.getByRole('button', { name: 'Close Workflows Table configuration' }).click();
      await page.getByRole('button', { name: 'Save as New' }).click();
      await page.getByTestId('save-view-modal-input').fill('Tyk upgrades');
      await page.getByRole('dialog').getByRole('button', { name: 'Save', exact: true }).click();
      // Later: the saved view, from the plain workflow list.
      await page.goto(`${process.env.TEMPORAL_UI_URL}/namespaces/default/workflows`, { waitUntil: 'domcontentloaded' });
      await page.getByRole('button', { name: 'Tyk upgrades' }).click();
      await rows.filter({ hasText: handle.workflowId }).waitFor({ timeout: 30_000 });
      await page.screenshot({ path: `${tempDir('webui-list')}/upgrades.png`, fullPage: true });

      const headers = (await page.locator('[data-testid^="workflows-summary-table-header-cell-"]').allInnerTexts()).map((h) => h.trim()).filter(Boolean);
      assert.deepEqual(headers, ['Status', 'Workflow ID', 'Type', 'Start', 'End', 'TykStack', 'TykTargetVersion', 'TykStage']);
      const cells = async (row: ReturnType<typeof rows.nth>) =>
        (await row.getByTestId('workflows-summary-table-body-cell').allInnerTexts()).map((c) => c.trim()).filter(Boolean);
      const table = await Promise.all((await rows.all()).map(cells));
      assert.ok(table.length >= 1);
      for (const row of table) assert.equal(row[2], 'upgradeFleet', `only upgrades are listed: ${row.join(' | ')}`);
      const ids = table.map((row) => row[1]);
      assert.ok(!ids.includes(batch), 'no batch child');
      for (const id of looks) assert.ok(!ids.includes(id), 'no look-only run');
      const ours = table.find((row) => row[1] === handle.workflowId);
      assert.deepEqual(
        [ours?.[0], ...(ours?.slice(-3) ?? [])],
        ['Running', two.name, '5.3.0', 'gateways'],
        'status, stack, target and stage (the after-canary gate waits inside the gateways stage)',
      );

      await decide(t.env.client, handle.workflowId, 'approve', { by: 'ui-test' });
      assert.equal((await handle.result()).outcome, 'succeeded');
    } finally {
      await two.remove();
    }
  });
});
