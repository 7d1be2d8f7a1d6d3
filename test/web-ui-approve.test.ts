// Approving a gate from the Temporal Web UI (the dev server's, 2.42), clicked through in headless Chromium as a
// person would: the workflow's page → More Actions → Send an Update → pick the update → type the JSON → Submit.
// Selectors are roles and visible text; the UI sends what is typed as the update's one JSON argument.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { getHello } from '../src/activities/tyk-http';
import { signStatement } from '../src/client-lib/sign';
import { getStatus, signStart, startUpgrade } from '../src/client-lib/upgrades';
import type { GateName } from '../src/shared/types';
import { runCli } from './support/cli';
import { tempDir } from './support/services';
import { testKeys } from './support/ssh-keys';
import { testStack } from './support/stack';
import { quiet, waitForGate } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
const ui = process.env.TEMPORAL_UI_URL as string;
let browser: Browser;
let shots: string;
before(async () => {
  shots = tempDir('webui-approve');
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
});

/** The workflow's page in the Web UI, once it shows the workflow running. */
async function openUpgrade(handle: WorkflowHandle, tab = 'history'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  const runId = (await handle.describe()).runId;
  await page.goto(`${ui}/namespaces/default/workflows/${handle.workflowId}/${runId}/${tab}`, { waitUntil: 'domcontentloaded' });
  await page.getByText('Running').first().waitFor({ timeout: 30_000 });
  return page;
}

/** The current details as the UI shows them (Markdown rendered in frames of its own), once they match `until`. */
async function currentDetails(page: Page, until: RegExp): Promise<string> {
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  let text = '';
  for (let i = 0; i < 100 && !until.test(text); i++) {
    await page.waitForTimeout(300);
    text = (
      await Promise.all(
        page.frames().map((f) =>
          f
            .locator('body')
            .innerText()
            .catch(() => ''),
        ),
      )
    ).join('\n');
  }
  return text;
}

/**
 * More Actions → Send an Update → `name` → `data` pasted into the Data box (left empty when '') → Submit.
 * Resolves with what the person sees: the "Update successful" notice, or the refusal shown in the dialog.
 */
async function sendUpdate(page: Page, name: string, data: string, shot: string): Promise<{ ok: true } | { ok: false; message: string }> {
  const done = page.getByText('Update successful');
  await done.waitFor({ state: 'hidden', timeout: 30_000 }); // the notice of an earlier update has gone
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send an Update' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send an Update' });
  await dialog.getByRole('button', { name: 'Select an Update' }).click();
  // The menu lists each update with its description (the workflow metadata query).
  await dialog.getByRole('option', { name: new RegExp(`^${name} `) }).click();
  if (data) {
    // The Data box is a JSON code editor, the dialog's last text box. The JSON is pasted, as the current details
    // suggest: typed keys meet the UI's shortcuts (an "r" typed on the User Metadata tab refreshes it instead).
    const editor = dialog.getByRole('textbox').last();
    await editor.click();
    await page.keyboard.insertText(data);
    // Leaving the box reformats the JSON and the dialog grows: a click on Submit straight away would miss it.
    await page.keyboard.press('Tab');
    assert.deepEqual(JSON.parse(await editor.innerText()), JSON.parse(data), 'the Data box holds what was pasted');
  }
  await page.screenshot({ path: `${shots}/${shot}-typed.png` });
  await dialog.getByRole('button', { name: 'Submit' }).click();
  const refusal = dialog.getByRole('alert');
  await done.or(refusal).first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: `${shots}/${shot}-sent.png` });
  if (await done.isVisible()) return { ok: true };
  const message = (await refusal.getByRole('paragraph').first().innerText()).trim();
  await dialog.getByRole('button', { name: 'Cancel' }).last().click();
  await dialog.waitFor({ state: 'hidden' });
  return { ok: false, message };
}

/** The arguments of every accepted `approveGate` update in the history, as the worker received them. */
async function acceptedApprovals(handle: WorkflowHandle): Promise<unknown[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input)
    .filter((input) => input?.name === 'approveGate')
    .map((input) => (input?.args?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p)));
}

const gateOf = async (handle: WorkflowHandle, gate: GateName) => (await getStatus(t.env.client, handle.workflowId)).gates.find((g) => g.gate === gate);

describe('approve from the Temporal Web UI', () => {
  it('approveGate with {"gate", "by", "comment"} approves and records the gate; an empty Data box approves the next as "unknown"; the upgrade succeeds', async () => {
    const stack = await testStack({ prefix: 'uiok' });
    let page: Page | undefined;
    try {
      const handle = await startUpgrade(t.env.client, stack.input({ soakMs: 0 }), { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      page = await openUpgrade(handle, 'user-metadata');
      const details = await currentDetails(page, /From the Web UI/);
      await page.screenshot({ path: `${shots}/details.png`, fullPage: true });
      assert.match(
        details,
        /From the Web UI: More Actions → Send an Update → approveGate with \{"gate": "before-gateways", "by": "<your name>", "comment": "<ticket>"\}/,
        'the current details say what to paste',
      );
      assert.match(details, /rejectGate likewise, with "rollback": true/);

      assert.deepEqual(await sendUpdate(page, 'approveGate', '{"gate": "before-gateways", "by": "alice", "comment": "CHG-1234"}', 'approve'), { ok: true });
      const approved = await gateOf(handle, 'before-gateways');
      assert.deepEqual([approved?.state, approved?.by, approved?.comment], ['approved', 'alice', 'CHG-1234']);
      assert.deepEqual(
        await acceptedApprovals(handle),
        [[{ gate: 'before-gateways', by: 'alice', comment: 'CHG-1234' }]],
        'the history holds the accepted update with what was pasted',
      );

      // Nothing typed: the UI sends the update without an argument, and the waiting gate is approved by "unknown".
      await waitForGate(t.env.client, handle.workflowId, 'before-pump');
      assert.deepEqual(await sendUpdate(page, 'approveGate', '', 'approve-empty'), { ok: true });
      const pumpGate = await gateOf(handle, 'before-pump');
      assert.deepEqual([pumpGate?.state, pumpGate?.by], ['approved', 'unknown']);

      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0', 'the gateway runs the target version');
    } finally {
      await page?.close();
      await stack.remove();
    }
  });

  it('four-eyes (approvals: 2): no "by" and alice twice are refused with the validator\'s message shown in the UI, history unchanged; bob opens the gate', async () => {
    const stack = await testStack({ prefix: 'uieyes', pump: false });
    let page: Page | undefined;
    try {
      const handle = await startUpgrade(t.env.client, stack.input({ gates: ['before-gateways'], approvals: 2, soakMs: 0 }), { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      page = await openUpgrade(handle);
      const refused = async (data: string, shot: string, message: RegExp) => {
        const before = await quiet(handle);
        const sent = await sendUpdate(page as Page, 'approveGate', data, shot);
        assert.equal(sent.ok, false, 'the update is refused');
        assert.match((sent as { message: string }).message, message);
        assert.equal((await handle.describe()).historyLength, before, 'a refused approval leaves the history unchanged');
      };
      await refused('', 'no-by', /^this plan needs named approvers: give --by \(or "by" in the update\); 0 of 2 approvals so far$/);
      assert.deepEqual(await sendUpdate(page, 'approveGate', '{"gate": "before-gateways", "by": "alice", "comment": "CHG-77"}', 'alice'), { ok: true });
      await refused(
        '{"by": "alice"}',
        'alice-again',
        /^alice has already approved gate "before-gateways"; 1 of 2 approvals so far \(alice\): the next approval must come from someone else$/,
      );
      const half = await gateOf(handle, 'before-gateways');
      assert.deepEqual([half?.state, half?.approvals?.map((a) => a.by)], ['waiting', ['alice']]);
      const runId = (await handle.describe()).runId;
      await page.goto(`${ui}/namespaces/default/workflows/${handle.workflowId}/${runId}/user-metadata`, { waitUntil: 'domcontentloaded' });
      const details = await currentDetails(page, /1 of 2 approvals \(alice\)/);
      assert.match(details, /1 of 2 approvals \(alice\)/, 'the current details count the approvals');
      assert.match(details, /"by" is required: 2 different people must approve/);

      // The second person, with only "by": the gate is the waiting one.
      assert.deepEqual(await sendUpdate(page, 'approveGate', '{"by": "bob"}', 'bob'), { ok: true });
      const opened = await gateOf(handle, 'before-gateways');
      assert.deepEqual([opened?.state, opened?.by, opened?.comment], ['approved', 'alice, bob', 'CHG-77']);
      assert.equal((await acceptedApprovals(handle)).length, 2, 'two accepted approvals in the history, none of the refused ones');
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0');
    } finally {
      await page?.close();
      await stack.remove();
    }
  });

  it('signatures required: an unsigned approveGate is refused in the dialog (history unchanged); the payload `tyk-upgrade sign approve` prints, pasted as it is, approves', async () => {
    const stack = await testStack({ prefix: 'uisig', pump: false });
    const keys = testKeys();
    let page: Page | undefined;
    try {
      const alice = keys.make('alice');
      const plan = stack.input({ gates: ['before-gateways'], approvers: [{ name: 'alice', key: alice.line }], requireSignatures: true, soakMs: 0 });
      const signed = await signStart({ name: 'alice', sign: (st) => signStatement(alice.file, st) }, plan);
      const handle = await startUpgrade(t.env.client, signed, { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      page = await openUpgrade(handle, 'user-metadata');
      const details = await currentDetails(page, /Decisions must be signed/);
      assert.match(details, /Started by alice \(ssh-ed25519 key SHA256:\S+, signature verified\)/);
      assert.match(
        details,
        new RegExp(`run tyk-upgrade sign approve ${handle.workflowId} --gate before-gateways --sign-key ~/.ssh/id_ed25519 and paste the JSON it prints`),
      );

      const before = await quiet(handle);
      const unsigned = await sendUpdate(page, 'approveGate', '{"gate": "before-gateways", "by": "alice", "comment": "CHG-1234"}', 'unsigned');
      assert.equal(unsigned.ok, false, 'the unsigned update is refused');
      assert.match((unsigned as { message: string }).message, /^this upgrade requires signed decisions and this one is not signed/);
      assert.equal((await handle.describe()).historyLength, before, 'a refused approval leaves the history unchanged');
      assert.equal((await gateOf(handle, 'before-gateways'))?.state, 'waiting');

      const payload = await runCli(['sign', 'approve', handle.workflowId, '--sign-key', alice.file, '--comment', 'CHG-1234']);
      assert.equal(payload.code, 0, payload.stderr);
      assert.deepEqual(await sendUpdate(page, 'approveGate', payload.stdout.trim(), 'signed'), { ok: true });
      const g = await gateOf(handle, 'before-gateways');
      assert.deepEqual([g?.state, g?.by, g?.comment, g?.signer?.name, g?.signer?.verified], ['approved', 'alice', 'CHG-1234', 'alice', true]);
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0');
    } finally {
      await page?.close();
      await stack.remove();
      keys.remove();
    }
  });
});
