// A problem found in a plan file, reported as "file:line: field: what is wrong and how to fix it".
export interface PlanProblem {
  line?: number;
  /** Dotted path of the field, e.g. gateway.instances[0].url; absent for problems with the whole file. */
  field?: string;
  message: string;
}

export class PlanError extends Error {
  constructor(
    readonly file: string,
    readonly problems: PlanProblem[],
  ) {
    super(formatProblems(file, problems));
  }
}

export function formatProblems(file: string, problems: PlanProblem[]): string {
  const lines = problems.map((p) => `  ${file}${p.line ? `:${p.line}` : ''}: ${p.field ? `${p.field}: ` : ''}${p.message}`);
  const n = problems.length;
  return [`${file} is not a valid plan (${n} problem${n === 1 ? '' : 's'}):`, ...lines].join('\n');
}
