// Process figures from /proc, read the same way for every process of every
// crawler side (bench/crawl and bench/scale): CPU time (user + system, the
// process's threads and its waited-for children: Crawlee runs `ps` for its
// memory snapshots) and peak RSS (VmHWM: the kernel's high-water mark of the
// resident set since the process started).
import { readFileSync } from 'node:fs';

/** Clock ticks are 10 ms on Linux (USER_HZ 100). */
const TICK_MS = 10;

/** CPU time a process has used so far, ms: utime + stime + cutime + cstime; 0 once it is gone. */
export function cpuMs(pid = 'self') {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** Peak resident set of a process so far (VmHWM), MB; 0 once it is gone. */
export function peakRssMb(pid = 'self') {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return 0;
  }
}

/** Resident set now (VmRSS), MB; 0 once it is gone. */
export function rssMb(pid = 'self') {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return 0;
  }
}
