/**
 * The logging pieces with no I/O: the cause read from a failed connection's
 * error, the rate limit on client-caused records (auth refusals, slow
 * consumers) and the URL shown in logs.
 */
import { describe, expect, it } from 'vitest';
import { describeConnectFailure } from '../../src/feed/connect-failure.ts';
import { RateLimitedLog } from '../../src/log/rate-limit.ts';
import { urlForLogs } from '../../src/log/redact.ts';
import { LoggedServerMetrics } from '../../src/server/logged-metrics.ts';
import { captureLog as capturing } from '../support/log-capture.ts';


const sysError = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('log: the cause of a failed connection', () => {
  it.each([
    [sysError('getaddrinfo ENOTFOUND stream.binance.com', 'ENOTFOUND'), 'dns', 'DNS lookup failed: getaddrinfo ENOTFOUND stream.binance.com'],
    [sysError('getaddrinfo EAI_AGAIN stream.binance.com', 'EAI_AGAIN'), 'dns', 'DNS lookup failed: getaddrinfo EAI_AGAIN stream.binance.com'],
    [sysError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'), 'tcp', 'TCP connection failed: connect ECONNREFUSED 127.0.0.1:9'],
    [sysError('certificate has expired', 'CERT_HAS_EXPIRED'), 'tls', 'TLS handshake failed: CERT_HAS_EXPIRED: certificate has expired'],
    [sysError('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls', 'TLS handshake failed: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate'],
    [new Error('Unexpected server response: 451'), 'http', 'the venue answered the WebSocket upgrade with HTTP 451'],
    [new Error('Opening handshake has timed out'), 'timeout', 'the WebSocket handshake timed out: Opening handshake has timed out'],
    [new Error('Invalid WebSocket frame: invalid opcode 5'), 'other', 'Invalid WebSocket frame: invalid opcode 5'],
  ])('%s → %s', (err, failure, cause) => {
    const f = describeConnectFailure(err);
    expect(f.fields.failure).toBe(failure);
    expect(f.cause).toBe(cause);
  });

  it('carries the errno and the HTTP status as fields', () => {
    expect(describeConnectFailure(sysError('getaddrinfo ENOTFOUND x', 'ENOTFOUND')).fields).toEqual({ failure: 'dns', errno: 'ENOTFOUND' });
    expect(describeConnectFailure(new Error('Unexpected server response: 403')).fields).toEqual({ failure: 'http', httpStatus: 403 });
  });
});

describe('log: rate-limited records', () => {
  it('writes a burst per key and window, then one record with the count it held back', () => {
    const { lines, logger } = capturing();
    let now = 0;
    const log = new RateLimitedLog(logger, { burst: 2, windowMs: 1_000, now: () => now });
    for (let i = 0; i < 5; i++) log.log('warn', 'a', 'auth.refused', `refusal ${i}`);
    log.log('warn', 'b', 'auth.refused', 'another key has its own burst');
    expect(lines.map((l) => l['msg'])).toEqual(['refusal 0', 'refusal 1', 'another key has its own burst']);
    now = 1_000;
    expect(log.log('warn', 'a', 'auth.refused', 'next window')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ msg: 'next window', suppressed: 3, event: 'auth.refused', level: 40 });
  });

  it('remembers a bounded number of keys', () => {
    const { lines, logger } = capturing();
    const log = new RateLimitedLog(logger, { burst: 1, maxKeys: 2, now: () => 0 });
    log.log('info', 'k1', 'e', 'k1');
    log.log('info', 'k2', 'e', 'k2');
    log.log('info', 'k3', 'e', 'k3'); // k1 forgotten
    log.log('info', 'k1', 'e', 'k1 again');
    expect(lines.map((l) => l['msg'])).toEqual(['k1', 'k2', 'k3', 'k1 again']);
  });

  it('auth refusals and slow consumers are counted and logged through the same call', async () => {
    const { lines, logger } = capturing();
    const zero = () => 0;
    const metrics = new LoggedServerMetrics({ connections: zero, subscriptions: zero, historyBytes: zero, maxBuffered: zero, counted: zero, maxConnections: zero }, logger);
    for (let i = 0; i < 8; i++) metrics.authFailure('http', 'bad_token');
    metrics.slowConsumer('conflating');
    metrics.slowConsumer('disconnected');
    expect(lines.filter((l) => l['event'] === 'auth.refused')).toHaveLength(5);
    expect(lines.find((l) => l['event'] === 'auth.refused')).toMatchObject({ level: 40, transport: 'http', reason: 'bad_token', msg: 'refused an HTTP request: bad_token' });
    expect(lines.filter((l) => l['event'] === 'stream.slow_consumer').map((l) => l['action'])).toEqual(['disconnected']);
    expect(await metrics.registry.metrics()).toMatch(/tickwire_auth_failures_total\{transport="http",reason="bad_token"\} 8/);
  });
});

describe('log: URLs', () => {
  it('shows scheme, host and path, never the query or credentials', () => {
    expect(urlForLogs('wss://user:pw@stream.example.com:9443/ws?token=s3cret')).toBe('wss://stream.example.com:9443/ws?…');
    expect(urlForLogs('ws://127.0.0.1:8080/stream')).toBe('ws://127.0.0.1:8080/stream');
    expect(urlForLogs('not a url')).toBe('(unparsable URL)');
  });
});
