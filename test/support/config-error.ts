/** The error `fn` throws, checked to be a ConfigError with the INVALID_CONFIG code. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/load.ts';
import { TickwireError } from '../../src/errors.ts';

export function configError(fn: () => unknown): ConfigError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect(err).toBeInstanceOf(TickwireError);
  expect((err as ConfigError).code).toBe('INVALID_CONFIG');
  return err as ConfigError;
}
