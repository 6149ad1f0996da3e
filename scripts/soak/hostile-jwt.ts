/**
 * JWTs for `--hostile`: the valid HS256 token the measuring clients carry,
 * and the forgeries the attacker floods the gateway with (each must be
 * refused 401: one accepted fails the verdict).
 */
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** An HS256 JWT of `claims` signed with `secret`. */
export function signHs256(claims: Record<string, unknown>, secret: string, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** A fresh random secret of 43 characters (the gateway wants 32+ bytes). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Forged tokens, one per kind, for `secret`'s server: alg none (with and
 * without a signature), alg confusion (RS256 header, HMAC over an RSA public
 * key as the secret; an RS256 signature by a key the server never knew),
 * a tampered payload, the wrong secret, expired, and no exp.
 */
export function forgedTokens(secret: string, nowS = Math.floor(Date.now() / 1000)): { kind: string; token: string }[] {
  const claims = { sub: 'mallory', channels: ['*'], exp: nowS + 3_600 };
  const good = signHs256({ sub: 'soak', channels: ['trades:binance:BTCUSDT'], exp: nowS + 3_600 }, secret);
  const [h, , s] = good.split('.');
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const rsInput = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}`;
  return [
    { kind: 'alg_none', token: `${none}.` },
    { kind: 'alg_none_signed', token: `${none}.${createHmac('sha256', secret).update(none).digest('base64url')}` },
    { kind: 'alg_confusion_hs_with_public_key', token: signHs256(claims, pem) },
    { kind: 'alg_confusion_rs256_header_hmac', token: `${rsInput}.${createHmac('sha256', secret).update(rsInput).digest('base64url')}` },
    { kind: 'rs256_unknown_key', token: `${rsInput}.${sign('sha256', Buffer.from(rsInput), privateKey).toString('base64url')}` },
    { kind: 'tampered_payload', token: `${h}.${b64(claims)}.${s}` },
    { kind: 'wrong_secret', token: signHs256(claims, `${secret}x`) },
    { kind: 'expired', token: signHs256({ ...claims, exp: nowS - 3_600 }, secret) },
    { kind: 'no_exp', token: signHs256({ sub: 'mallory', channels: ['*'] }, secret) },
  ];
}
