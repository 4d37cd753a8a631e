// Which process holds the other end of a loopback TCP connection (Linux):
// the client socket is found in /proc/net/tcp by its address pair, then its
// inode among the candidate processes' file descriptors. The process tests
// use it to tell which worker process sent each request to the test site,
// with no change to the worker.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** 127.0.0.1:port as /proc/net/tcp writes it (little-endian address, hex port). */
function loopbackHex(port: number): string {
  return `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The pid among `pids` whose socket connects from 127.0.0.1:`clientPort` to 127.0.0.1:`serverPort`; undefined if none. */
export function socketOwner(clientPort: number, serverPort: number, pids: readonly number[]): number | undefined {
  const local = loopbackHex(clientPort);
  const remote = loopbackHex(serverPort);
  let inode: string | undefined;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote) inode = fields[9];
  }
  if (!inode) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}
