// cluster-key-slot (ioredis' own dependency) ships no types: its default export.
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0 to 16383) of a key, hash tag honoured. */
  export default function calculateSlot(key: string | Buffer): number;
}
