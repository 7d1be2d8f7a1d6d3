// The failed tests of a node:test TAP report, for the closing lines of `npm test`.

/**
 * The failed tests of a TAP report (not the suites that hold them): name, location and error message, so the run's
 * last lines say why it failed even when only its tail is kept (as CI's record is).
 */
export function failuresIn(tap: string): string[] {
  const out: string[] = [];
  const lines = tap.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
    if (!head) continue;
    const indent = `${head[1]}  `;
    const block: string[] = [];
    for (let j = i + 1; j < lines.length && lines[j] !== `${indent}...`; j++) block.push(lines[j].slice(indent.length));
    if (block.some((l) => l === "failureType: 'subtestsFailed'")) continue;
    const location = /^location: '(.*)'$/m.exec(block.join('\n'))?.[1] ?? '';
    const at = block.findIndex((l) => l.startsWith('error:'));
    const error: string[] = [];
    if (at >= 0 && /^error: \|-?$/.test(block[at])) {
      // A literal block: the lines indented under `error:`, up to the next key.
      for (let k = at + 1; k < block.length && (block[k].startsWith('  ') || block[k] === ''); k++) error.push(block[k].slice(2));
    } else if (at >= 0) error.push(block[at].slice('error: '.length));
    const message = error.filter((l) => l.trim() !== '').slice(0, 20);
    out.push([`✖ ${head[2]}${location ? ` (${location})` : ''}`, ...message.map((l) => `    ${l}`)].join('\n'));
  }
  return out;
}
