/**
 * A log record as plain data, for the parts that cannot hold the logger
 * itself: a feed worker sends these to the main thread (control messages,
 * never the data path), which writes them with its logger and the exchange's
 * name. Plain data: any layer may build one.
 */

/** The levels a record may have (trace and fatal are the main thread's own). */
export type RecordLevel = 'debug' | 'info' | 'warn' | 'error';

/** Extra fields of a record: flat values only, so it crosses postMessage as is. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface LogRecord {
  level: RecordLevel;
  /** Stable name of what happened (`feed.disconnected`), for log pipelines to match on. */
  event: string;
  /** One line for a human reader, with the cause in it. */
  msg: string;
  fields?: LogFields;
}

/** Where records go. */
export type LogSink = (record: LogRecord) => void;
