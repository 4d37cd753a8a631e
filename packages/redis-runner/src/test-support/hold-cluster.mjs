// A separate OS process that starts a Redis Cluster, prints its nodes' pids
// and ports as one JSON line, and then waits to be killed: the test of what
// is left behind when the process that started a cluster dies outright.
import { startRedisCluster } from '../../dist/index.js';

const cluster = await startRedisCluster();
process.stdout.write(`${JSON.stringify(cluster.nodes.map((node) => ({ pid: node.pid, port: node.port })))}\n`);
setInterval(() => {}, 60_000);
