// The processes under this one, read from /proc (Linux): the browser's memory
// is the resident memory of its whole tree (browser, GPU, network and
// renderer processes), which is what the memory ceiling weighs.
import { readdirSync, readFileSync } from 'node:fs';

interface ProcEntry {
  pid: number;
  ppid: number;
  rssKb: number;
}

function readEntry(pid: number): ProcEntry | undefined {
  try {
    // The command name sits in parentheses and may hold spaces: fields start after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return { pid, ppid, rssKb: rss ? Number(rss[1]) : 0 };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every descendant of `root` (not `root` itself). */
export function descendants(root: number = process.pid): ProcEntry[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
  const children = new Map<number, ProcEntry[]>();
  for (const pid of pids) {
    const entry = readEntry(pid);
    if (!entry) continue;
    const siblings = children.get(entry.ppid) ?? [];
    siblings.push(entry);
    children.set(entry.ppid, siblings);
  }
  const found: ProcEntry[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Resident memory of every process under `root`, in MiB. */
export function descendantsRssMb(root: number = process.pid): number {
  return descendants(root).reduce((sum, entry) => sum + entry.rssKb, 0) / 1024;
}

/** The command line of a process, or '' when it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
