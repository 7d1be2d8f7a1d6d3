// A plan that must be refused: its problems as "line: field: message", in the order they are reported.
import assert from 'node:assert/strict';
import { parsePlanText } from '../../src/plan/parse';
import { PlanError } from '../../src/plan/problems';

export function problems(text: string): string[] {
  try {
    parsePlanText(text, 'p.yaml');
  } catch (err) {
    assert.ok(err instanceof PlanError);
    return err.problems.map((p) => `${p.line}: ${p.field}: ${p.message}`);
  }
  assert.fail('the plan should have been refused');
}
