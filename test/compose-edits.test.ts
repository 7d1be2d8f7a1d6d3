// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose files write ${VAR} as text
// Where a compose service's version is written and how it is changed, without Docker: the files as people write
// them (literal tags, quotes, anchors and merge keys, override files, variables in .env, defaults), the places
// several services share, and what cannot be traced (then nothing is edited). The real composes check the same
// edits end to end in compose.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseEnv } from '../src/activities/compose/dotenv';
import { projectEdits, readFromDisk, type Member } from '../src/activities/compose/project';
import type { ComposeRef } from '../src/shared/types';
import { tempDir } from './support/services';

const FROM = 'tykio/tyk-gateway:v5.2.0';
const TO = 'tykio/tyk-gateway:v5.3.0';

/** A project folder with these files; `members` are the containers the plan moves (service → from, to). */
async function edits(files: Record<string, string>, moves: Record<string, [string, string]>, configFiles = ['docker-compose.yml'], upgraded?: string[]) {
  const dir = tempDir('compose-edits');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const ref = (service: string): ComposeRef => ({ project: 'p', service, workingDir: dir, configFiles: configFiles.map((f) => join(dir, f)), envFiles: [] });
  const members: Member[] = Object.entries(moves).map(([service, [fromImage, toImage]]) => ({
    container: `p-${service}-1`,
    fromImage,
    toImage,
    ref: ref(service),
  }));
  const r = await projectEdits(members, readFromDisk, upgraded ? (s) => upgraded.includes(s) : undefined);
  const after = Object.fromEntries(r.changes.map((c) => [c.path.slice(dir.length + 1), c.after.toString('utf8')]));
  return { r, after, dir };
}

describe('compose edits: the version where it is written, nothing else', () => {
  it('a literal tag, plain or quoted, with a comment after it', async () => {
    const yml = `services:\n  gw:\n    image: ${FROM}   # keep\n  gw2:\n    image: "tykio/tyk-gateway:v5.2.0"\n  gw3:\n    image: 'tykio/tyk-gateway:v5.2.0'\n`;
    const { r, after } = await edits({ 'docker-compose.yml': yml }, { gw: [FROM, TO], gw2: [FROM, TO], gw3: [FROM, TO] });
    assert.deepEqual(r.problems, []);
    assert.equal(after['docker-compose.yml'], yml.replaceAll('v5.2.0', 'v5.3.0'));
    assert.deepEqual(r.changes[0].services, ['gw', 'gw2', 'gw3']);
  });

  it('a variable in .env (with export, quotes and a comment), CRLF line ends kept', async () => {
    const yml = 'services:\n  gw:\n    image: tykio/tyk-gateway:${TYK_VERSION}\n  pump:\n    image: "tykio/tyk-pump-docker-pub:$PUMP"\n';
    const env = '# versions\r\nexport TYK_VERSION="v5.2.0"\r\nPUMP=v1.9.0 # the pump\r\n';
    const { r, after } = await edits(
      { 'docker-compose.yml': yml, '.env': env },
      { gw: [FROM, TO], pump: ['tykio/tyk-pump-docker-pub:v1.9.0', 'tykio/tyk-pump-docker-pub:v1.10.0'] },
    );
    assert.deepEqual([r.problems, r.untraced], [[], []]);
    assert.equal(after['.env'], '# versions\r\nexport TYK_VERSION="v5.3.0"\r\nPUMP=v1.10.0 # the pump\r\n');
    assert.equal(after['docker-compose.yml'], undefined, 'the compose file is not touched');
  });

  it('only the digits that differ when the v sits outside the variable', async () => {
    const yml = 'services:\n  gw:\n    image: tykio/tyk-gateway:v${V}\n';
    const { after } = await edits({ 'docker-compose.yml': yml, '.env': 'V=5.2.0\n' }, { gw: [FROM, TO] });
    assert.equal(after['.env'], 'V=5.3.0\n');
  });

  it('a default in the file when .env does not set the variable; .env when it does', async () => {
    const yml = 'services:\n  gw:\n    image: tykio/tyk-gateway:${TYK_VERSION:-v5.2.0}\n';
    const a = await edits({ 'docker-compose.yml': yml }, { gw: [FROM, TO] });
    assert.equal(a.after['docker-compose.yml'], yml.replace('v5.2.0', 'v5.3.0'));
    const b = await edits({ 'docker-compose.yml': yml, '.env': 'TYK_VERSION=v5.2.0\n' }, { gw: [FROM, TO] });
    assert.deepEqual(Object.keys(b.after), ['.env']);
  });

  it('an override file wins over the base file, and is the one edited', async () => {
    const base = `services:\n  gw:\n    image: tykio/tyk-gateway:v5.1.0\n`;
    const override = `services:\n  gw:\n    image: ${FROM}\n`;
    const { after } = await edits({ 'docker-compose.yml': base, 'docker-compose.override.yml': override }, { gw: [FROM, TO] }, [
      'docker-compose.yml',
      'docker-compose.override.yml',
    ]);
    assert.deepEqual(after, { 'docker-compose.override.yml': override.replace('v5.2.0', 'v5.3.0') });
  });

  it('an anchor shared by two services moves when both move; a merge key is followed', async () => {
    const yml = `x-gw: &gw\n  image: &img ${FROM}\n  restart: always\nservices:\n  a:\n    <<: *gw\n  b:\n    image: *img\n`;
    const both = await edits({ 'docker-compose.yml': yml }, { a: [FROM, TO], b: [FROM, TO] });
    assert.equal(both.after['docker-compose.yml'], yml.replace('v5.2.0', 'v5.3.0'));
    const one = await edits({ 'docker-compose.yml': yml }, { a: [FROM, TO] });
    assert.match(
      one.r.problems.join(),
      /image: in docker-compose\.yml names the image of services "a", "b" of compose project "p", but this plan moves only "a"/,
    );
    assert.deepEqual(one.after, {});
  });

  it('a shared variable: refused when a service of it stays, or when two go to different versions', async () => {
    const yml = 'services:\n  a:\n    image: tykio/tyk-gateway:${V}\n  b:\n    image: tykio/tyk-gateway:${V}\n  redis:\n    image: redis:${V2:-7}\n';
    const one = await edits({ 'docker-compose.yml': yml, '.env': 'V=v5.2.0\n' }, { a: [FROM, TO] });
    assert.match(one.r.problems[0], /V in \.env names the image of services "a", "b" .* add the container of "b" to the plan, or split it first/);
    const two = await edits({ 'docker-compose.yml': yml, '.env': 'V=v5.2.0\n' }, { a: [FROM, TO], b: [FROM, 'tykio/tyk-gateway:v5.4.0'] });
    assert.match(two.r.problems[0], /shared by services "a" \(to tykio\/tyk-gateway:v5\.3\.0\) and "b" \(to tykio\/tyk-gateway:v5\.4\.0\)/);
  });

  it('on a partial end only the services that run their target move; a shared place with one left behind stays', async () => {
    const yml = `services:\n  a:\n    image: ${FROM}\n  b:\n    image: ${FROM}\n`;
    const { after } = await edits({ 'docker-compose.yml': yml }, { a: [FROM, TO], b: [FROM, TO] }, undefined, ['a']);
    assert.equal(after['docker-compose.yml'], `services:\n  a:\n    image: ${TO}\n  b:\n    image: ${FROM}\n`);
  });

  it('what cannot be traced is said and left alone', async () => {
    const cases: [string, Record<string, string>, RegExp, string?][] = [
      ['services:\n  gw:\n    image: tykio/tyk-gateway:${FROM_SHELL}\n', {}, /FROM_SHELL is not set in the project's env file \(it may come from the shell/],
      [
        'services:\n  gw:\n    image: tykio/tyk-gateway:v5.1.0\n',
        {},
        /files give service "gw" the image tykio\/tyk-gateway:v5\.1\.0, but its container runs tykio\/tyk-gateway:v5\.2\.0/,
      ],
      ['services:\n  gw:\n    image: "tykio/tyk-gateway:v5\\u002E2.0"\n', {}, /not written in one place that can be edited/],
      ['services:\n  gw:\n    extends: { file: base.yml, service: gw }\n', {}, /takes its image through extends:/],
      ['services:\n  gw:\n    image: x\n  gw:\n    image: y\n', {}, /does not parse as YAML/],
      // 5.2.0 → 6.0.0 changes "5.2", half in A and half in B.
      ['services:\n  gw:\n    image: ${A}${B}\n', { '.env': 'A=tykio/tyk-gateway:v5.\nB=2.0\n' }, /not written in one place/, 'tykio/tyk-gateway:v6.0.0'],
    ];
    for (const [yml, extra, why, to] of cases) {
      const { r, after } = await edits({ 'docker-compose.yml': yml, ...extra }, { gw: [FROM, to ?? TO] });
      assert.deepEqual(after, {}, yml);
      assert.match(r.untraced.map((u) => u.why).join(), why, yml);
    }
  });

  it('a project folder the worker cannot see is said so', async () => {
    const { r } = await edits({}, { gw: [FROM, TO] });
    assert.match(r.untraced[0].why, /docker-compose\.yml does not exist on this host \(a worker in a container sees only what is mounted/);
  });
});

describe('the env file', () => {
  it('reads what both composes read alike as editable, the rest only as values', () => {
    const env = parseEnv({ path: '/p/.env', label: '.env', text: 'A=1\nB="two words"\nC=\'x\'\nD="a\\nb"\nE=${A}\nF=1\nF=2\n  # c\nG = spaced # note\n' });
    assert.equal(env.get('A')?.site?.start, 2);
    assert.deepEqual(
      [...env].map(([k, v]) => [k, v.value, !!v.site]),
      [
        ['A', '1', true],
        ['B', 'two words', true],
        ['C', 'x', true],
        ['D', 'a\\nb', false],
        ['E', '${A}', false],
        ['F', '2', false],
        ['G', 'spaced', true],
      ],
    );
  });
});
