// bench/faults: time to heal per fault scenario against the targets of issue
// #12, each beside the same crawl without the fault in the same run (the
// scenarios of tests/faults, on private redis-servers with AOF everysec and
// real API and worker processes). BENCH_ONLY=worker-kill,redis-kill picks
// scenarios.
import { formatTable, SCENARIOS } from '@crawlstream/faults';

const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
const chosen = SCENARIOS.filter((scenario) => !only || only.has(scenario.name));
const rows = [];
for (const scenario of chosen) {
  process.stderr.write(`bench/faults: ${scenario.name} ...\n`);
  const started = Date.now();
  try {
    rows.push(await scenario.run());
  } catch (error) {
    rows.push({ scenario: scenario.name, fault: `did not run: ${error.message}`, pagesLost: 0, eventsDuplicated: 0, terminalEvents: '-', readersWhole: '-', result: 'FAILED' });
  }
  process.stderr.write(`bench/faults: ${scenario.name} took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

console.log(`\nbench/faults: ${chosen.length} scenarios, each beside the same crawl without the fault (node ${process.version})`);
console.log(formatTable(rows));
console.log('\ntime to heal against the targets (heal = extra time beyond the crawl without the fault and the time the fault was held):');
for (const row of rows) {
  if (row.targetS === undefined || row.healS === undefined) {
    console.log(`  ${row.scenario.padEnd(17)} ${row.faultedS === undefined ? '' : `${row.faultedS.toFixed(1)} s`} (no heal target) ${row.result}`);
    continue;
  }
  const verdict = row.healS <= row.targetS ? 'OK' : 'MISSED';
  const side = row.baselineS === undefined ? '' : `, ${row.faultedS?.toFixed(1)} s with the fault vs ${row.baselineS.toFixed(1)} s without`;
  console.log(`  ${row.scenario.padEnd(17)} heal ${row.healS.toFixed(1)} s (target <= ${row.targetS} s) ${verdict}${side}; invariants ${row.result}`);
}
process.exit(rows.every((row) => row.result === 'ok') ? 0 : 1);
