/**
 * The one error an invalid configuration raises: every problem found, one
 * per line, each `<source>: <key.path>: <what was given>, expected <what is
 * accepted>` (code INVALID_CONFIG).
 */
import type { ConfigIssue } from '../check/checker.ts';
import { ErrorCode, TickwireError } from '../errors.ts';

/** An invalid configuration. `path` is the first issue's; `issues` lists them all. */
export class ConfigError extends TickwireError {
  readonly source: string;
  readonly path: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(ErrorCode.INVALID_CONFIG, issues.map((i) => formatIssue(source, i)).join('\n'), options);
    this.name = 'ConfigError';
    this.source = source;
    this.path = issues[0]?.path ?? '';
    this.issues = issues;
  }
}

function formatIssue(source: string, issue: ConfigIssue): string {
  return issue.path === '' ? `${source}: ${issue.message}` : `${source}: ${issue.path}: ${issue.message}`;
}
