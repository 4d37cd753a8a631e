// Path and query pieces shared by the crawl routes, as zod schemas (they
// validate requests and document them in the OpenAPI at /docs).
import { isCrawlId } from '@crawlstream/shared';
import { z } from 'zod';

export const crawlIdParams = z.object({
  id: z
    .string()
    .refine(isCrawlId, { message: 'not a crawl id (a lowercase UUID v4)' })
    .meta({ description: 'Crawl id (UUID v4)', format: 'uuid' }),
});

/** A whole number in a query string, within bounds, with a default. */
export function queryInt(min: number, max: number, fallback: number) {
  return z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((value) => value ?? fallback);
}
