// One vitest test per scenario: run it on private Redis servers the testkit
// stops after the file, record its row for the table, and fail on any
// problem it found (a lost page, an event twice, a reader not whole, a crawl
// not terminal, healing beyond the scenario's bound).
import { startExtraRedis } from '@crawlstream/testkit';
import { expect, inject, it } from 'vitest';
import { appendRow, formatTable } from '../report.js';
import type { Scenario } from '../scenarios.js';

export function scenarioTest(scenario: Scenario, claim: string): void {
  it(`${scenario.name}: ${claim}`, async () => {
    const row = await scenario.run(startExtraRedis);
    appendRow(inject('faultsReport'), row);
    process.stdout.write(`${formatTable([row])}\n`);
    expect(row.problems ?? []).toEqual([]);
    expect(row.result).toBe('ok');
  });
}
