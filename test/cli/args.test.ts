/**
 * The command line (src/cli/args.ts): each command takes its own options,
 * and a mistake gets a message naming it and what to type instead, never
 * Node's raw parseArgs text.
 */
import { describe, expect, it } from 'vitest';
import { readCommandLine, UsageError } from '../../src/cli/args.ts';

function usageError(argv: string[]): string {
  try {
    readCommandLine(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('cli: reading the command line', () => {
  it('reads start with its options, in any order', () => {
    expect(readCommandLine(['--config', 'my.yaml', 'start', '--port', '0', '--log-level', 'debug', '--host', '::1', '--env', 'prod', '--role', 'edge'])).toEqual({
      command: 'start',
      config: 'my.yaml',
      env: 'prod',
      host: '::1',
      port: 0,
      logLevel: 'debug',
      role: 'edge',
      watch: false,
    });
    expect(readCommandLine(['start'])).toEqual({ command: 'start', config: undefined, env: undefined, host: undefined, port: undefined, logLevel: undefined, role: 'all', watch: false });
    expect(readCommandLine(['start', '--watch'])).toMatchObject({ command: 'start', watch: true });
    expect(() => readCommandLine(['start', '--role', 'edgy'])).toThrow(/--role: got "edgy", expected all, feed or edge/);
    expect(readCommandLine(['backtest', '--config', 'c.yaml', '--from', 't.jsonl'])).toEqual({
      command: 'backtest', config: 'c.yaml', env: undefined, from: 't.jsonl', out: undefined, exchange: undefined,
    });
  });

  it('answers --version and --help, alone or for a command', () => {
    expect(readCommandLine(['--version'])).toEqual({ command: 'version' });
    expect(readCommandLine(['-v'])).toEqual({ command: 'version' });
    expect(readCommandLine(['--help'])).toEqual({ command: 'help', topic: undefined });
    expect(readCommandLine(['start', '-h'])).toEqual({ command: 'help', topic: 'start' });
  });

  it('passes token and hash-token their arguments', () => {
    expect(readCommandLine(['token', 'desk-1'])).toEqual({ command: 'token', args: ['desk-1'] });
    expect(readCommandLine(['hash-token'])).toEqual({ command: 'hash-token', args: [] });
  });

  it('suggests the option or command meant by a typo', () => {
    expect(usageError(['start', '--prot', '80'])).toBe('tickwire start: unknown option --prot (did you mean --port?)');
    expect(usageError(['start', '--confg=x.yaml'])).toBe('tickwire start: unknown option --confg (did you mean --config?)');
    expect(usageError(['strat'])).toBe('tickwire: unknown command "strat" (did you mean start?)');
    expect(usageError(['start', '--log-level', 'wran'])).toContain('(did you mean warn?)');
  });

  it('names nothing when no known word is close', () => {
    expect(usageError(['start', '--verbose'])).toBe('tickwire start: unknown option --verbose');
    expect(usageError(['deploy'])).toBe('tickwire: unknown command "deploy"');
  });

  it("refuses another command's option and says whose it is", () => {
    expect(usageError(['token', '--port', '3'])).toBe('tickwire token: unknown option --port (it is an option of "tickwire start")');
    expect(usageError(['hash-token', '--config', 'x'])).toContain('it is an option of "tickwire start"');
  });

  it('refuses bad values, a missing value, a missing command and stray arguments', () => {
    expect(usageError(['start', '--port', '70000'])).toBe('tickwire start: --port: got "70000", expected an integer 0..65535 (0 = any free port)');
    expect(usageError(['start', '--port', ''])).toContain('--port: got ""');
    expect(usageError(['start', '--port'])).toBe('tickwire start: --port needs a value');
    expect(usageError(['start', '--log-level', 'verbose'])).toContain('expected one of trace, debug, info, warn, error, fatal, silent');
    expect(usageError([])).toBe('tickwire: expected a command: start, backtest, token or hash-token');
    expect(usageError(['start', 'now'])).toBe('tickwire start: takes no arguments, got "now"');
  });
});
