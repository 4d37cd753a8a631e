// Figures of a process and all its descendants (a renderer and its Chromium:
// browser, zygotes, renderer and utility processes), from /proc. CPU counts
// each live process's own time and the time of its children it has reaped
// (cutime, cstime), so a Chromium process that exited inside the tree is
// still counted; the sum only grows while the tree lives.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks are 10 ms on Linux (USER_HZ 100). */
const TICK_MS = 10;

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** The pids of `root` and every live descendant. */
export function treePids(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(name);
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(Number(name));
  }
  const pids = [];
  for (const queue = [root]; queue.length > 0; ) {
    const pid = queue.shift();
    pids.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return pids;
}

/** CPU time of the tree so far, ms. */
export function treeCpuMs(root) {
  return treePids(root).reduce((sum, pid) => sum + (stat(pid)?.cpuMs ?? 0), 0);
}

/** Resident set of the tree now (VmRSS summed: memory shared between Chromium's processes counts once per process), MB. */
export function treeRssMb(root) {
  let kb = 0;
  for (const pid of treePids(root)) {
    try {
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

/** Proportional set of the tree now (Pss summed: a page shared by n processes counts 1/n in each), MB. */
export function treePssMb(root) {
  let kb = 0;
  for (const pid of treePids(root)) {
    try {
      kb += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

/** Samples the tree's summed RSS and PSS every `everyMs` until stopped; `stop()` returns the highest of each. */
export function sampleMemory(root, everyMs = 250) {
  const peak = { rssMb: 0, pssMb: 0 };
  const sample = () => {
    peak.rssMb = Math.max(peak.rssMb, treeRssMb(root));
    peak.pssMb = Math.max(peak.pssMb, treePssMb(root));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
