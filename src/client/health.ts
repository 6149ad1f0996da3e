/**
 * `GET /health` read by the client: `ok`, or `unavailable` with the
 * server's reasons. An unreachable server is `unavailable` too (`httpStatus`
 * null); an API error answer (401, 429) throws its TickwireError.
 */
import { TickwireError } from '../errors.ts';
import type { HealthReport } from '../model/status.ts';
import { httpGet, type GetOptions } from './http.ts';

/** The health of the server at `http` (its HTTP base URL), as the client's `health()` returns it. */
export async function readHealth(http: string, options: GetOptions): Promise<HealthReport & { httpStatus: number | null }> {
  let answer: { status: number; body: string };
  try {
    answer = await httpGet(`${http}/health`, options, 'text', [503]);
  } catch (err) {
    if (err instanceof TickwireError) throw err;
    return { status: 'unavailable', reasons: [`server unreachable: ${(err as Error).message}`], httpStatus: null };
  }
  if (answer.status !== 503) return { status: 'ok', reasons: [], httpStatus: answer.status };
  let reasons: string[] = [];
  let status: HealthReport['status'] = 'unavailable';
  try {
    const body = JSON.parse(answer.body) as { status?: unknown; reasons?: unknown };
    if (Array.isArray(body.reasons)) reasons = body.reasons.map(String);
    if (body.status === 'starting') status = 'starting';
  } catch {
    reasons = [answer.body.slice(0, 200)];
  }
  return { status, reasons, httpStatus: 503 };
}
