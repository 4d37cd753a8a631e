import { ConfigError, MAX_STREAM_CONNECT_TIMEOUT_MS, MIN_STREAM_CONNECT_TIMEOUT_MS } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { DEFAULT_API_SETTINGS, loadApiSettings, MAX_LISTEN_BACKLOG } from './settings.js';

describe('API settings', () => {
  it('has defaults and parses what is set', () => {
    expect(loadApiSettings({})).toEqual(DEFAULT_API_SETTINGS);
    expect(
      loadApiSettings({ RATE_LIMIT_PER_MINUTE: '0', TRUST_PROXY: '10.0.0.0/8, 127.0.0.1', STREAM_DRAIN_TIMEOUT_MS: '5000', STREAM_TOKEN_TTL_SECONDS: '600' }),
    ).toEqual({ ...DEFAULT_API_SETTINGS, rateLimitPerMinute: 0, trustProxy: ['10.0.0.0/8', '127.0.0.1'], streamDrainTimeoutMs: 5000, streamTokenTtlSeconds: 600 });
    expect(
      loadApiSettings({
        HTTP_HEADERS_TIMEOUT_MS: '2000',
        HTTP_REQUEST_TIMEOUT_MS: '2000',
        STREAM_MAX_PER_KEY: '100',
        STREAM_MAX_PER_ADDRESS: '10000',
        METRICS_TOKEN: 'scrape-token-0123456789',
      }),
    ).toEqual({
      ...DEFAULT_API_SETTINGS,
      httpHeadersTimeoutMs: 2000,
      httpRequestTimeoutMs: 2000,
      streamMaxPerKey: 100,
      streamMaxPerAddress: 10_000,
      metricsToken: 'scrape-token-0123456789',
    });
    expect(loadApiSettings({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    // LISTEN_BACKLOG at its bounds (one past each is refused below).
    expect(loadApiSettings({ LISTEN_BACKLOG: '1' }).listenBacklog).toBe(1);
    expect(loadApiSettings({ LISTEN_BACKLOG: String(MAX_LISTEN_BACKLOG) }).listenBacklog).toBe(MAX_LISTEN_BACKLOG);
    // The gateway hooks: URLs as given, the connect timeout at its bounds.
    expect(
      loadApiSettings({
        STREAM_CONNECT_URL: 'http://127.0.0.1:9000/connect',
        STREAM_DISCONNECT_URL: 'https://gateway.internal/disconnect',
        STREAM_CONNECT_TIMEOUT_MS: String(MIN_STREAM_CONNECT_TIMEOUT_MS),
      }),
    ).toEqual({
      ...DEFAULT_API_SETTINGS,
      streamConnectUrl: 'http://127.0.0.1:9000/connect',
      streamDisconnectUrl: 'https://gateway.internal/disconnect',
      streamConnectTimeoutMs: MIN_STREAM_CONNECT_TIMEOUT_MS,
    });
    expect(loadApiSettings({ STREAM_CONNECT_TIMEOUT_MS: String(MAX_STREAM_CONNECT_TIMEOUT_MS) }).streamConnectTimeoutMs).toBe(MAX_STREAM_CONNECT_TIMEOUT_MS);
  });

  it.each([
    ['RATE_LIMIT_PER_MINUTE', 'many'],
    ['STREAM_DRAIN_TIMEOUT_MS', '5'],
    ['STREAM_TOKEN_TTL_SECONDS', '-1'],
    ['TRUST_PROXY', 'proxy.example'],
    ['HTTP_HEADERS_TIMEOUT_MS', '99'],
    ['HTTP_HEADERS_TIMEOUT_MS', '40000'],
    ['HTTP_REQUEST_TIMEOUT_MS', '0'],
    ['STREAM_MAX_PER_KEY', '-1'],
    ['STREAM_MAX_PER_ADDRESS', '1.5'],
    ['LISTEN_BACKLOG', '0'],
    ['LISTEN_BACKLOG', String(MAX_LISTEN_BACKLOG + 1)],
    ['METRICS_TOKEN', 'short'],
    ['STREAM_CONNECT_TIMEOUT_MS', String(MIN_STREAM_CONNECT_TIMEOUT_MS - 1)],
    ['STREAM_CONNECT_TIMEOUT_MS', String(MAX_STREAM_CONNECT_TIMEOUT_MS + 1)],
    ['STREAM_CONNECT_URL', 'not a url'],
    ['STREAM_CONNECT_URL', 'ftp://127.0.0.1/connect'],
    ['STREAM_DISCONNECT_URL', 'file:///etc/passwd'],
    ['METRICS_TOKEN', 'has a space 0123456789'],
  ])('stops on a bad %s (%s), naming it', (name, value) => {
    expect(() => loadApiSettings({ [name]: value })).toThrow(ConfigError);
    expect(() => loadApiSettings({ [name]: value })).toThrow(name);
  });
});
