// How a field of a config file is named in a message: `gateway.instances[0].url`. Shared by the plan and the
// notification config, whose problems read alike.
export function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(top level)';
}
