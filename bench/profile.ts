/**
 * The two run profiles. `quick` is the representative subset that must
 * finish in under 3 minutes on a 2-core machine (every headline figure, one
 * short measurement each, a coarse rate search); `full` measures longer,
 * repeats more and searches the sustainable rate more finely.
 */

/** `--quick` or the default full run. */
export type ProfileName = 'quick' | 'full';

/** Durations, sizes and rate steps of one profile. */
export interface Profile {
  readonly name: ProfileName;
  /** tinybench time per micro case, ms (BENCH_TIME_MS overrides). */
  readonly microTimeMs: number;
  /** Also measure every other venue's parser (needs the fixture corpus). */
  readonly microVenues: boolean;
  readonly ingest: {
    /** Frames generated (same for tickwire and the peer). */
    readonly frames: number;
    readonly rounds: number;
    readonly warmupRounds: number;
  };
  /** Ingest over a loopback WebSocket, whole processes (bench/ingest-wire.ts): trades/s, measured seconds, warm-up seconds. */
  readonly ingestWire: { readonly rate: number; readonly seconds: number; readonly warmupSeconds: number };
  readonly fanout: {
    /** Subscribers (the goal's 100). */
    readonly subscribers: number;
    /** Worker threads the subscribers are spread over. */
    readonly subscriberThreads: number;
    /** The rated load the latency goals are stated at, trades/s. */
    readonly ratedRate: number;
    /** Seconds of the latency measurement at the rated load per gateway (after a 1 s warm-up). */
    readonly ratedSeconds: number;
    /** tickwire and the floor take the rated load in this many alternating slices each (ratedSeconds in all), pooled: one slice's luck no longer decides the ratio. */
    readonly ratedSlices: number;
    /** Rates tried above the rated load when it was held, ascending, trades/s; the search stops at the first one not held. */
    readonly stepsUp: readonly number[];
    /** Rates tried below it when it was not, descending; the search stops at the first one held. */
    readonly stepsDown: readonly number[];
    readonly stepSeconds: number;
    /** Bisection steps between the highest rate held and the first one not held. */
    readonly refine: number;
    /** A step is held only if the last message arrived within this long after the last frame was sent. */
    readonly catchUpMs: number;
  };
  readonly http: {
    /** Seconds per autocannon run (after a 1 s warm-up run). */
    readonly seconds: number;
    readonly connections: number;
    /** The open-loop run at limit=50 (bench/openloop-worker.ts): requests/s (the goal's 2,000), seconds, sockets. */
    readonly openLoop: { readonly rate: number; readonly seconds: number; readonly connections: number };
  };
  /** Scale-out (bench/cluster.ts): trades/s over two symbols, measured seconds per setup. */
  readonly cluster: { readonly rate: number; readonly seconds: number };
}

/** The quick and full profiles by name. */
export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  quick: {
    name: 'quick',
    microTimeMs: 300,
    microVenues: false,
    ingest: { frames: 100_000, rounds: 3, warmupRounds: 1 },
    ingestWire: { rate: 20_000, seconds: 5, warmupSeconds: 2 },
    fanout: {
      subscribers: 100,
      subscriberThreads: 2,
      ratedRate: 2_000,
      ratedSeconds: 6,
      ratedSlices: 4,
      stepsUp: [4_000, 8_000, 16_000, 32_000],
      stepsDown: [1_000, 500, 250],
      stepSeconds: 2,
      refine: 0,
      catchUpMs: 500,
    },
    http: { seconds: 4, connections: 10, openLoop: { rate: 2_000, seconds: 5, connections: 16 } },
    cluster: { rate: 2_000, seconds: 5 },
  },
  full: {
    name: 'full',
    microTimeMs: 1_000,
    microVenues: true,
    ingest: { frames: 1_000_000, rounds: 7, warmupRounds: 2 },
    ingestWire: { rate: 20_000, seconds: 30, warmupSeconds: 5 },
    fanout: {
      subscribers: 100,
      subscriberThreads: 2,
      ratedRate: 2_000,
      ratedSeconds: 20,
      ratedSlices: 10,
      stepsUp: [3_000, 4_000, 6_000, 8_000, 12_000, 16_000, 24_000, 32_000, 48_000, 64_000],
      stepsDown: [1_500, 1_000, 500, 250, 100],
      stepSeconds: 6,
      refine: 3,
      catchUpMs: 500,
    },
    http: { seconds: 15, connections: 10, openLoop: { rate: 2_000, seconds: 20, connections: 16 } },
    cluster: { rate: 2_000, seconds: 20 },
  },
};
