import { describe, expect, it } from 'vitest';
import { ApiError, ERRORS, toErrorResponse } from './errors.js';

describe('error catalogue', () => {
  it('uses snake_case codes, 4xx for the client\'s mistakes', () => {
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(status).toBeGreaterThanOrEqual(400);
    }
    expect(toErrorResponse(new ApiError('already_finished'))).toMatchObject({ status: 409, body: { error: { code: 'already_finished' } } });
  });

  it('maps framework and backend errors: bad input is 4xx, Redis away is 503, the rest 500 without internals', () => {
    const fastify = (code: string, statusCode: number) => Object.assign(new Error('x'), { code, statusCode });
    expect(toErrorResponse(fastify('FST_ERR_CTP_BODY_TOO_LARGE', 413)).body.error.code).toBe('payload_too_large');
    expect(toErrorResponse(fastify('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).status).toBe(415);
    expect(toErrorResponse(new SyntaxError('Unexpected token')).body.error.code).toBe('invalid_json');
    expect(toErrorResponse(Object.assign(new Error('v'), { validation: [{ instancePath: '/a/0', message: 'bad' }], validationContext: 'body' }))).toEqual({
      status: 400,
      body: { error: { code: 'validation_failed', message: ERRORS.validation_failed.message, details: { in: 'body', issues: [{ path: ['a', '0'], message: 'bad' }] } } },
    });
    expect(toErrorResponse(Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' })).status).toBe(503);
    const internal = toErrorResponse(new Error('secret detail'));
    expect(internal).toEqual({ status: 500, body: { error: { code: 'internal_error', message: 'Internal error' } } });
  });
});
