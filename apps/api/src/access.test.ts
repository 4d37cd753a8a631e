// The auth rules as plain functions: what each route rule (`config.auth`)
// makes of an Authorization header, with keys off and on. Fastify's hook and
// the stream route's lean path both call requestOwner, so this is what both
// answer.
import { describe, expect, it } from 'vitest';
import { ApiKeys, ownerOf, type RouteAuth, requestOwner } from './access.js';
import { ApiError } from './errors.js';

const OPERATOR = 'operator-key-0123456789';
const TENANT = 'tenant-key-0123456789ab';
const keys = new ApiKeys([OPERATOR, TENANT]);
const bearer = (key: string) => `Bearer ${key}`;
const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;

/** The owner, or the refusal's code and challenge. */
function outcome(auth: RouteAuth, authorization: string | undefined, withKeys: ApiKeys = keys) {
  try {
    return { owner: requestOwner(withKeys, auth, authorization) };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { refused: error.code, challenge: error.headers?.['www-authenticate'] };
  }
}

const BEARER = { refused: 'unauthorized', challenge: 'Bearer realm="crawlstream"' };
const BASIC = { refused: 'unauthorized', challenge: 'Basic realm="crawlstream admin", charset="UTF-8"' };

describe('requestOwner', () => {
  it('with keys off every rule lets every request in, as owner ""', () => {
    const off = new ApiKeys([]);
    for (const auth of ['key', 'stream', 'operator', 'public'] as const) {
      for (const authorization of [undefined, bearer('whatever-0123456789'), 'garbage']) {
        expect(outcome(auth, authorization, off)).toEqual({ owner: '' });
      }
    }
  });

  it('key: a valid key only', () => {
    expect(outcome('key', bearer(TENANT))).toEqual({ owner: ownerOf(TENANT) });
    expect(outcome('key', `bearer   ${TENANT}  `)).toEqual({ owner: ownerOf(TENANT) });
    expect(outcome('key', undefined)).toEqual(BEARER);
    expect(outcome('key', bearer('not-a-key-0123456789'))).toEqual(BEARER);
    // Basic auth is the queue board's alone.
    expect(outcome('key', basic(TENANT))).toEqual(BEARER);
  });

  it('stream: a valid key, or none (the route then wants a stream token); a wrong key is refused', () => {
    expect(outcome('stream', bearer(TENANT))).toEqual({ owner: ownerOf(TENANT) });
    expect(outcome('stream', undefined)).toEqual({ owner: null });
    expect(outcome('stream', bearer('not-a-key-0123456789'))).toEqual(BEARER);
  });

  it('operator: the first key only, as Bearer or as Basic auth\'s password', () => {
    expect(outcome('operator', bearer(OPERATOR))).toEqual({ owner: ownerOf(OPERATOR) });
    expect(outcome('operator', basic(OPERATOR))).toEqual({ owner: ownerOf(OPERATOR) });
    expect(outcome('operator', bearer(TENANT))).toEqual(BASIC);
    expect(outcome('operator', basic(TENANT))).toEqual(BASIC);
    expect(outcome('operator', undefined)).toEqual(BASIC);
  });

  it('public: anyone; a valid key still names its owner (rate limiting counts by it)', () => {
    expect(outcome('public', undefined)).toEqual({ owner: null });
    expect(outcome('public', bearer('not-a-key-0123456789'))).toEqual({ owner: null });
    expect(outcome('public', bearer(TENANT))).toEqual({ owner: ownerOf(TENANT) });
  });
});
