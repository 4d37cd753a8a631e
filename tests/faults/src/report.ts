// One row per scenario, in the manner of a Jepsen report: the fault and when
// it landed, the crawl's time with and without it, the time to heal, and what
// a user could have lost. Rows are appended to a JSON-lines file so the
// suite's global teardown (and bench/faults) can print them as one table.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface Row {
  scenario: string;
  /** What was killed, stopped or cut, and when. */
  fault: string;
  /** Seconds the same crawl took without the fault (undefined when not timed). */
  baselineS?: number;
  /** Seconds the crawl took with the fault. */
  faultedS?: number;
  /** Seconds the fault itself was held (an outage or partition), not counted as healing. */
  heldS?: number;
  /** Extra seconds beyond the baseline and the time the fault was held. */
  healS?: number;
  /** The target for healS, in seconds. */
  targetS?: number;
  pagesLost: number;
  eventsDuplicated: number;
  /** Terminal events per reader, e.g. "10x1". */
  terminalEvents: string;
  /** Readers whole / readers. */
  readersWhole: string;
  /** Anything else measured (RSS, statuses seen). */
  notes?: string;
  /** ok, or FAILED (problems listed). */
  result: 'ok' | 'FAILED';
  problems?: string[];
}

export function appendRow(file: string, row: Row): void {
  appendFileSync(file, `${JSON.stringify(row)}\n`);
}

export function readRows(file: string): Row[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Row);
}

/** Terminal events per reader as "N x k" groups: [1,1,1] -> "3x1". */
export function terminalsText(terminals: number[]): string {
  if (terminals.length === 0) return '-';
  const groups = new Map<number, number>();
  for (const t of terminals) groups.set(t, (groups.get(t) ?? 0) + 1);
  return [...groups].map(([t, n]) => `${n}x${t}`).join(' ');
}

const seconds = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));

export function formatTable(rows: Row[]): string {
  const head = ['scenario', 'fault, when', 'no fault s', 'fault s', 'held s', 'heal s', 'target s', 'pages lost', 'events dup', 'terminal events', 'readers whole', 'result'];
  const body = rows.map((r) => [
    r.scenario,
    r.fault,
    seconds(r.baselineS),
    seconds(r.faultedS),
    seconds(r.heldS),
    seconds(r.healS),
    r.targetS === undefined ? '-' : `<= ${r.targetS}`,
    String(r.pagesLost),
    String(r.eventsDuplicated),
    r.terminalEvents,
    r.readersWhole,
    r.result,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  for (const r of rows) {
    if (r.notes) out.push(`  ${r.scenario}: ${r.notes}`);
    for (const p of r.problems ?? []) out.push(`  ${r.scenario}: ${p}`);
  }
  return out.join('\n');
}
