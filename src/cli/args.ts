/**
 * The command line, read before anything runs: which command, its options,
 * and a usage error that says what to type instead of Node's raw parseArgs
 * text (`--prot`: did you mean --port?). Each command accepts only its own
 * options: `--port` belongs to `start`, not to `token`.
 */
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevelName } from '../log/levels.ts';


const START_OPTIONS = {
  config: { type: 'string' },
  env: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'log-level': { type: 'string' },
  role: { type: 'string' },
  watch: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
const BACKTEST_OPTIONS = {
  config: { type: 'string' },
  env: { type: 'string' },
  from: { type: 'string' },
  out: { type: 'string' },
  exchange: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
const TOKEN_OPTIONS = { help: { type: 'boolean', short: 'h' } } as const;
const GLOBAL_OPTIONS = { version: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' } } as const;
const COMMANDS = { start: START_OPTIONS, backtest: BACKTEST_OPTIONS, token: TOKEN_OPTIONS, 'hash-token': TOKEN_OPTIONS } as const;
type CommandName = keyof typeof COMMANDS;

/** What the command line asks for. */
export type CommandLine =
  | { command: 'version' }
  | { command: 'help'; topic: CommandName | undefined }
  | { command: 'start'; config: string | undefined; env: string | undefined; host: string | undefined; port: number | undefined; logLevel: LogLevelName | undefined; role: Role; watch: boolean }
  | { command: 'backtest'; config: string | undefined; env: string | undefined; from: string | undefined; out: string | undefined; exchange: string | undefined }
  | { command: 'token' | 'hash-token'; args: string[] };

/** A command line that cannot run; `message` (`tickwire start: ...`) says why and what to type instead. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Read `argv` (without node and script); throws UsageError for anything it cannot run. */
export function readCommandLine(argv: readonly string[]): CommandLine {
  // The first positional, with every option's type known, so `--config FILE start` finds start.
  const { tokens } = parseArgs({ args: [...argv], options: { ...START_OPTIONS, ...BACKTEST_OPTIONS, ...GLOBAL_OPTIONS }, allowPositionals: true, strict: false, tokens: true });
  const command = tokens.find((t) => t.kind === 'positional')?.value;
  if (command === undefined) {
    const { values } = strictParse(argv, GLOBAL_OPTIONS, 'tickwire', Object.keys(COMMANDS));
    if (values.version === true) return { command: 'version' };
    if (values.help === true) return { command: 'help', topic: undefined };
    throw new UsageError('tickwire: expected a command: start, backtest, token or hash-token');
  }
  if (!(command in COMMANDS)) {
    throw new UsageError(`tickwire: unknown command "${command}"${suggestion(command, Object.keys(COMMANDS), '')}`);
  }
  const name = command as CommandName;
  const { values, positionals } = strictParse(argv, COMMANDS[name], `tickwire ${name}`, []);
  if (values.help === true) return { command: 'help', topic: name };
  const rest = positionals.slice(1);
  if (name === 'backtest') {
    if (rest.length > 0) throw new UsageError(`tickwire backtest: takes no arguments, got ${JSON.stringify(rest[0])}`);
    const b = values as { config?: string; env?: string; from?: string; out?: string; exchange?: string };
    return { command: 'backtest', config: b.config, env: b.env, from: b.from, out: b.out, exchange: b.exchange };
  }
  if (name !== 'start') return { command: name, args: rest };
  if (rest.length > 0) throw new UsageError(`tickwire start: takes no arguments, got ${JSON.stringify(rest[0])}`);
  const v = values as { config?: string; env?: string; host?: string; port?: string; 'log-level'?: string; role?: string; watch?: boolean };
  return { command: 'start', config: v.config, env: v.env, host: v.host, port: portOption(v.port), logLevel: logLevelOption(v['log-level']), role: roleOption(v.role), watch: v.watch === true };
}

/** `--role`: which part of a deployment this process is (docs/scale-out.md). */
export type Role = 'all' | 'feed' | 'edge';
const ROLES: readonly Role[] = ['all', 'feed', 'edge'];

function roleOption(value: string | undefined): Role {
  if (value === undefined) return 'all';
  if ((ROLES as readonly string[]).includes(value)) return value as Role;
  throw new UsageError(`tickwire start: --role: got ${JSON.stringify(value)}, expected all, feed or edge${suggestion(value, ROLES, '')}`);
}

function portOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (value.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`tickwire start: --port: got ${JSON.stringify(value)}, expected an integer 0..65535 (0 = any free port)`);
  }
  return port;
}

function logLevelOption(value: string | undefined): LogLevelName | undefined {
  if (value === undefined) return undefined;
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevelName;
  throw new UsageError(`tickwire start: --log-level: got ${JSON.stringify(value)}, expected one of ${LOG_LEVELS.join(', ')}${suggestion(value, LOG_LEVELS, '')}`);
}

type Options = Parameters<typeof parseArgs>[0] extends infer C ? (C extends { options?: infer O } ? NonNullable<O> : never) : never;

/**
 * parseArgs in strict mode; its errors rewritten to name the option and the
 * closest known one. `otherWords` are also suggested for an unknown option
 * (`--start` → the command start).
 */
function strictParse<O extends Options>(argv: readonly string[], options: O, who: string, otherWords: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const known = Object.keys(options);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const { tokens } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: false, tokens: true });
      const unknown = tokens.find((t) => t.kind === 'option' && !(t.name in options));
      const raw = unknown !== undefined && unknown.kind === 'option' ? unknown.rawName : '?';
      const name = raw.replace(/^-+/, '');
      const elsewhere = Object.entries(COMMANDS).find(([, opts]) => name in opts)?.[0];
      const hint = elsewhere !== undefined && `tickwire ${elsewhere}` !== who ? ` (it is an option of "tickwire ${elsewhere}")` : suggestion(name, known, '--') || suggestion(name, otherWords, '');
      throw new UsageError(`${who}: unknown option ${raw}${hint}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const option = /Option '(-[^ ']+)/.exec((err as Error).message)?.[1] ?? 'an option';
      throw new UsageError(`${who}: ${option} needs a value`);
    }
    throw new UsageError(`${who}: ${(err as Error).message}`);
  }
}

/** " (did you mean <prefix>X?)" for the candidate closest to `word` within a typo's distance, else "". */
function suggestion(word: string, candidates: readonly string[], prefix: string): string {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : ` (did you mean ${prefix}${best}?)`;
}

/** Levenshtein distance with adjacent transpositions counted as one edit (`prot` → `port`: 1). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
