// Webhook delivery (#16): one BullMQ job per crawl with a webhook walks the
// crawl's event log from the cursor stored in Redis, POSTing each event of
// the filter, signed (Standard Webhooks), through the SSRF-guarded
// dispatcher. In order: the next event waits for the previous one's 2xx. At
// least once: the cursor moves only after a 2xx, so a worker killed between
// the POST and the cursor's write sends that event again (same webhook-id).
// Between events the job is delayed, never holding a slot: while caught up
// for WEBHOOK_POLL_MS, after a failure for its backoff.
import type { CrawlStore, CrawlWebhooks, EventFrame, WebhookTarget } from '@crawlstream/progress';
import type { WebhookJobData } from '@crawlstream/jobs';
import { USER_AGENT } from '@crawlstream/pipeline';
import { backoffDelay, isTerminalEvent, parseRetryAfter, WEBHOOK_MAX_RETRY_AFTER_MS } from '@crawlstream/shared';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Webhook } from 'standardwebhooks';
import { type Dispatcher, request } from 'undici';

/** Events read from the log per round trip. */
const EVENTS_PER_READ = 100;

export interface WebhookDeliveryDeps {
  store: CrawlStore;
  webhooks: CrawlWebhooks;
  dispatcher: Dispatcher;
  /** Signs with WEBHOOK_SECRET. */
  signer: Webhook;
  /** Aborted when the worker begins to stop: the job is handed back at its next step. */
  stopping: AbortSignal;
  logger: Logger;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  pollMs: number;
}

type Outcome = { ok: true; status: number } | { ok: false; error: string; status?: number; retryAfterMs?: number };

/** Moves the job to delayed until `at` (its lock released, no attempt used) and tells BullMQ so. */
async function delayUntil(job: Job<WebhookJobData>, token: string | undefined, at: number): Promise<never> {
  await job.moveToDelayed(at, token);
  throw new DelayedError();
}

/** One POST of one event: its body is the stream's `data` line, byte for byte. */
async function post(deps: WebhookDeliveryDeps, target: WebhookTarget, frame: EventFrame): Promise<Outcome> {
  const sentAt = new Date();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = value;
  Object.assign(headers, {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': frame.id,
    'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
    'webhook-signature': deps.signer.sign(frame.id, sentAt, frame.data),
  });
  try {
    const response = await request(target.url, {
      method: 'POST',
      headers,
      body: frame.data,
      dispatcher: deps.dispatcher,
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
    await response.body.dump();
    if (response.statusCode >= 200 && response.statusCode < 300) return { ok: true, status: response.statusCode };
    const retryAfter = response.headers['retry-after'];
    const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    return { ok: false, status: response.statusCode, error: `HTTP ${response.statusCode}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  } catch (error) {
    const err = error as Error & { code?: unknown };
    if (err.name === 'TimeoutError') return { ok: false, error: `no answer within ${deps.timeoutMs} ms` };
    return { ok: false, error: typeof err.code === 'string' ? `${err.code}: ${err.message}` : err.message };
  }
}

/** The processor of the webhook queue: delivers until caught up, failing, or done. */
export async function deliverWebhook(deps: WebhookDeliveryDeps, job: Job<WebhookJobData>, token?: string): Promise<void> {
  const { crawlId } = job.data;
  const log = deps.logger.child({ crawlId });
  for (;;) {
    const target = await deps.webhooks.target(crawlId);
    if (!target || target.state === 'failed' || target.state === 'done') return;
    if (deps.stopping.aborted) return delayUntil(job, token, Date.now());
    if (target.nextAttemptAt > Date.now()) return delayUntil(job, token, target.nextAttemptAt);
    const frames = await deps.store.readAfter(crawlId, target.cursor, EVENTS_PER_READ);
    if (frames === 'lost') {
      await deps.webhooks.stop(target, 'the event log no longer holds the next event (trimmed)');
      log.warn('webhook stopped: event log trimmed past its cursor');
      return;
    }
    if (frames.length === 0) {
      if ((await deps.store.status(crawlId)) === null) {
        await deps.webhooks.stop(target, 'the crawl no longer exists');
        return;
      }
      return delayUntil(job, token, Date.now() + deps.pollMs);
    }
    let attempts = target.attempts;
    for (const frame of frames) {
      const done = isTerminalEvent(frame.type);
      if (!target.events.includes(frame.type)) {
        await deps.webhooks.advance(target, frame.id, done);
      } else {
        if (deps.stopping.aborted) return delayUntil(job, token, Date.now());
        const outcome = await post(deps, target, frame);
        if (outcome.ok) {
          await deps.webhooks.advance(target, frame.id, done, outcome.status);
          attempts = 0;
        } else {
          attempts += 1;
          const last = attempts >= deps.maxAttempts;
          const nextAttemptAt = last
            ? null
            : Date.now() +
              backoffDelay(attempts, outcome.retryAfterMs, {
                baseMs: deps.retryBaseMs,
                capMs: Number.MAX_SAFE_INTEGER,
                jitter: 'equal',
                maxRetryAfterMs: WEBHOOK_MAX_RETRY_AFTER_MS,
              });
          await deps.webhooks.failAttempt(target, {
            attempts,
            error: outcome.error,
            nextAttemptAt,
            ...(outcome.status === undefined ? {} : { status: outcome.status }),
          });
          log.info({ eventId: frame.id, attempts, error: outcome.error, last }, last ? 'webhook failed for good' : 'webhook delivery failed: will retry');
          if (nextAttemptAt === null) return;
          return delayUntil(job, token, nextAttemptAt);
        }
      }
      if (done) return;
    }
  }
}
