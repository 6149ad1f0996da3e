/**
 * An edge's view of each exchange's status (src/cluster/feed-reports.ts):
 * the leading feed's reports, fenced ones ignored, undecodable ones refused,
 * and `stopped` once no feed has reported for the silence limit, until the
 * next report. Pure: times are passed in.
 */
import { describe, expect, it } from 'vitest';
import { FeedStatus } from '../../src/api/feed-status.ts';
import { FeedReports } from '../../src/cluster/feed-reports.ts';
import type { ExchangeState, ExchangeStatus } from '../../src/model/status.ts';

const SILENT_MS = 5_000;

function report(exchange: string, state: ExchangeState): Uint8Array {
  const tracked = new FeedStatus(exchange, ['X']);
  tracked.setState(state);
  return Buffer.from(JSON.stringify(tracked.status(undefined, 0)));
}

const noTerm = () => 0;

describe('FeedReports', () => {
  it('keeps the last report of each configured exchange and refuses what is not one', () => {
    const r = new FeedReports(['binance', 'coinbase'], SILENT_MS);
    expect(r.all()).toEqual({});
    expect((r.take(report('binance', 'connected'), 1, noTerm, 0) as ExchangeStatus).state).toBe('connected');
    expect((r.take(report('binance', 'reconnecting'), 1, noTerm, 10) as ExchangeStatus).state).toBe('reconnecting');
    expect(r.take(Buffer.from('{not json'), 1, noTerm, 20)).toBe('undecodable');
    expect(r.take(Buffer.from('null'), 1, noTerm, 20)).toBe('undecodable');
    expect(r.take(report('kraken', 'connected'), 1, noTerm, 20)).toBe('undecodable');
    expect(Object.keys(r.all())).toEqual(['binance']);
    expect(r.all()['binance']!.state).toBe('reconnecting');
  });

  it('ignores the report of a feed whose term is older than the newest seen', () => {
    const r = new FeedReports(['binance'], SILENT_MS);
    r.take(report('binance', 'connected'), 7, () => 7, 0);
    expect(r.take(report('binance', 'reconnecting'), 6, () => 7, 10)).toBe('fenced');
    expect(r.all()['binance']!.state).toBe('connected');
  });

  it('marks an exchange stopped once, after the silence limit, and takes the next report again', () => {
    const r = new FeedReports(['binance', 'coinbase'], SILENT_MS);
    r.take(report('binance', 'connected'), 1, noTerm, 0);
    r.take(report('coinbase', 'connected'), 1, noTerm, 3_000);
    expect(r.silent(SILENT_MS - 1)).toEqual([]);
    const stopped = r.silent(SILENT_MS);
    expect(stopped.map((s) => [s.exchange, s.state])).toEqual([['binance', 'stopped']]);
    expect(stopped[0]!.lastError).toBe('no feed has reported binance for 5 s: its leading feed stopped and no standby took over');
    expect(r.silent(SILENT_MS + 1_000)).toEqual([]); // told once
    expect(r.all()['binance']!.state).toBe('stopped');
    expect(r.all()['coinbase']!.state).toBe('connected');
    r.take(report('binance', 'connected'), 2, noTerm, 9_000);
    expect(r.all()['binance']!.state).toBe('connected');
    expect(r.silent(9_000 + SILENT_MS).map((s) => s.exchange)).toEqual(['binance', 'coinbase']);
  });

  it('counts the silence afresh when the owner could not hear reports for a while', () => {
    const r = new FeedReports(['binance'], SILENT_MS);
    r.take(report('binance', 'connected'), 1, noTerm, 0);
    r.restartSilence(10_000); // e.g. NATS came back at 10 s
    expect(r.silent(10_000 + SILENT_MS - 1)).toEqual([]);
    expect(r.silent(10_000 + SILENT_MS).map((s) => s.state)).toEqual(['stopped']);
  });
});
