// Receiving a crawl's webhook (#16): each delivery is signed per the Standard
// Webhooks specification (webhook-id = the event's stream id, a timestamp,
// and an HMAC-SHA256 of "id.timestamp.body" with the server's WEBHOOK_SECRET).
// verifyWebhook checks it with the maintained `standardwebhooks` package and
// reads the event as the stream's readers do.
import { type ClientCrawlEvent, clientCrawlEvent } from '@crawlstream/shared';
import { Webhook } from 'standardwebhooks';

/** Request headers as Node (IncomingHttpHeaders), fetch (Headers) or a plain object give them. */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

function headerRecord(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    (headers as Headers).forEach((value, name) => {
      out[name.toLowerCase()] = value;
    });
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (value !== undefined) out[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return out;
}

/**
 * The event a webhook delivery carries, once its signature is verified with
 * `secret` (the server's WEBHOOK_SECRET, `whsec_…`) against the raw `body`
 * (the bytes as received: not re-serialized JSON). Throws when the signature
 * or the timestamp (more than 5 minutes off) does not verify, or the body is
 * not an event. `event.type` may be one this client does not know (a newer
 * server): it is returned as parsed. Deduplicate on the `webhook-id` header:
 * delivery is at least once.
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string | Uint8Array): ClientCrawlEvent {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  new Webhook(secret).verify(text, headerRecord(headers));
  const json: unknown = JSON.parse(text);
  const parsed = clientCrawlEvent.safeParse(json);
  return parsed.success ? parsed.data : (json as ClientCrawlEvent);
}
