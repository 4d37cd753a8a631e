// What the process's exit code tells a script.
export const EXIT = {
  /** The command did what was asked (a crawl completed). */
  ok: 0,
  /** The crawl failed or was cancelled (or had already finished when cancel was asked), or its result could not be written. */
  crawlNotCompleted: 1,
  /** The command line is wrong (also: the API refused the input with 400). */
  usage: 2,
  /** The API answered with an error, or could not be reached. */
  api: 3,
  /** Interrupted (Ctrl-C) while only watching. */
  interrupted: 130,
} as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}
