/**
 * Why a feed connection failed, from the `error` event `ws` raises before its
 * `close` (which then only says 1006): the DNS lookup, the TCP connect, the
 * TLS handshake, or the HTTP status the venue answered the upgrade with. The
 * cause goes into the log line and the exchange's `lastError` in /v1/status.
 */

export type FailureKind = 'dns' | 'tcp' | 'tls' | 'http' | 'timeout' | 'other';

export interface ConnectFailure {
  /** One line: `DNS lookup failed: getaddrinfo ENOTFOUND stream.binance.com`. */
  cause: string;
  /** For the log record: the kind, the system error's code, the upgrade's HTTP status. */
  fields: { failure: FailureKind; errno?: string; httpStatus?: number };
}

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
const TCP = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);
/** OpenSSL's certificate codes and Node's TLS errors. */
const TLS = /^(EPROTO$|ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|ERR_OSSL_)/;
/** What ws says when the venue answers the upgrade with something else than 101. */
const UPGRADE_STATUS = /^Unexpected server response: (\d{3})/;

/** The cause of a failed connection, from the error `ws` emitted. */
export function describeConnectFailure(err: Error): ConnectFailure {
  const errno = (err as NodeJS.ErrnoException).code;
  const http = UPGRADE_STATUS.exec(err.message);
  if (http !== null) {
    const httpStatus = Number(http[1]);
    return { cause: `the venue answered the WebSocket upgrade with HTTP ${httpStatus}`, fields: { failure: 'http', httpStatus } };
  }
  if (errno !== undefined && DNS.has(errno)) return { cause: `DNS lookup failed: ${err.message}`, fields: { failure: 'dns', errno } };
  if (errno !== undefined && TCP.has(errno)) return { cause: `TCP connection failed: ${err.message}`, fields: { failure: 'tcp', errno } };
  if (errno !== undefined && TLS.test(errno)) return { cause: `TLS handshake failed: ${errno}: ${err.message}`, fields: { failure: 'tls', errno } };
  if (/handshake has timed out/i.test(err.message)) return { cause: `the WebSocket handshake timed out: ${err.message}`, fields: { failure: 'timeout' } };
  return { cause: err.message, fields: errno !== undefined ? { failure: 'other', errno } : { failure: 'other' } };
}
