/**
 * Market sessions: when a market trades, so silent intervals outside it do
 * not become flat bars. Crypto trades around the clock (no session needed);
 * US equities trade 09:30–16:00 New York time on weekdays that are not NYSE
 * holidays.
 *
 * Decisions: flat bars follow the regular session only (pre- and
 * after-market trades still make bars, but their quiet minutes stay empty);
 * early closes (13:00 on some holiday eves) are treated as full days; the
 * holiday table covers 2024–2028 and must be extended after that (a missing
 * year only means flat bars on its holidays).
 */

/** True when a bucket [start, start + ms) overlaps the market's session (flat bars only there). */
export type SessionFilter = (bucketStart: number, ms: number) => boolean;

const DAY = 86_400_000;
const OPEN_MINUTES = 9 * 60 + 30;
const CLOSE_MINUTES = 16 * 60;

/** NYSE full-day closures (ISO dates, New York). */
const NYSE_HOLIDAYS = new Set([
  '2024-01-01', '2024-01-15', '2024-02-19', '2024-03-29', '2024-05-27', '2024-06-19', '2024-07-04', '2024-09-02', '2024-11-28', '2024-12-25',
  '2025-01-01', '2025-01-09', '2025-01-20', '2025-02-17', '2025-04-18', '2025-05-26', '2025-06-19', '2025-07-04', '2025-09-01', '2025-11-27', '2025-12-25',
  '2026-01-01', '2026-01-19', '2026-02-16', '2026-04-03', '2026-05-25', '2026-06-19', '2026-07-03', '2026-09-07', '2026-11-26', '2026-12-25',
  '2027-01-01', '2027-01-18', '2027-02-15', '2027-03-26', '2027-05-31', '2027-06-18', '2027-07-05', '2027-09-06', '2027-11-25', '2027-12-24',
  '2028-01-17', '2028-02-21', '2028-04-14', '2028-05-29', '2028-06-19', '2028-07-04', '2028-09-04', '2028-11-23', '2028-12-25',
]);

const NEW_YORK = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  weekday: 'short',
});

/** Per UTC day: the regular session in UTC ms [open, close), or null when the market is shut. */
const sessionCache = new Map<number, readonly [number, number] | null>();

/** The regular US equity session of the New York trading day that starts in UTC day `day`. */
function usEquityDay(day: number): readonly [number, number] | null {
  const cached = sessionCache.get(day);
  if (cached !== undefined) return cached;
  // New York is UTC−5 or UTC−4: 15:00 UTC is always the same New York date, mid-session.
  const probe = day * DAY + 15 * 3_600_000;
  const parts = Object.fromEntries(NEW_YORK.formatToParts(new Date(probe)).map((p) => [p.type, p.value]));
  const date = `${parts['year']}-${parts['month']}-${parts['day']}`;
  let session: readonly [number, number] | null = null;
  if (parts['weekday'] !== 'Sat' && parts['weekday'] !== 'Sun' && !NYSE_HOLIDAYS.has(date)) {
    const offsetMinutes = Number(parts['hour']) * 60 + Number(parts['minute']) - 15 * 60; // New York − UTC
    const midnightUtc = day * DAY - offsetMinutes * 60_000;
    session = [midnightUtc + OPEN_MINUTES * 60_000, midnightUtc + CLOSE_MINUTES * 60_000];
  }
  sessionCache.set(day, session);
  return session;
}

/** US equities' regular session (09:30–16:00 New York, weekdays, NYSE holidays off). */
export const usEquitySession: SessionFilter = (bucketStart, ms) => {
  const end = bucketStart + ms;
  // A bucket can span several days (1w): look at each day it touches, at most 8.
  for (let day = Math.floor(bucketStart / DAY) - 1, last = Math.floor((end - 1) / DAY); day <= last && day <= Math.floor(bucketStart / DAY) + 8; day++) {
    const s = usEquityDay(day);
    if (s !== null && s[0] < end && s[1] > bucketStart) return true;
  }
  return false;
};
