/**
 * A plugin's own config keys (docs/plugins.md, "Options"): the schema a
 * plugin declares (`options: { interval: { type: 'string', values: [...] } }`)
 * checked once when it loads, then each exchange section using the plugin
 * checked against it with the config's own checker (src/check/), so a bad
 * key reads like any other config error: key path, value, expectation.
 */
import type { Checker } from '../check/checker.ts';
import { keyPath } from '../check/paths.ts';
import type { ExchangeConfig, PluginOptionValue } from '../config/types.ts';
import { showValue } from '../errors.ts';
import type { AdapterEntry } from '../exchanges/registry.ts';

/** The types an option may have; `secret` is text never shown in a message (set it from the environment). */
export const OPTION_TYPES = ['string', 'number', 'integer', 'boolean', 'url', 'secret'] as const;
export type PluginOptionType = (typeof OPTION_TYPES)[number];

/** One config key of a plugin. */
export interface PluginOption {
  type: PluginOptionType;
  /** What it does (shown in error messages about it). */
  description: string;
  /** The value when the config gives none; none: the option is absent (undefined) unless `required`. */
  default?: string | number | boolean;
  /** The config must give it. */
  required?: boolean;
  /** `number`, `integer`: the smallest and largest value accepted. */
  min?: number;
  max?: number;
  /** `string`: the values accepted (any text of up to 200 characters when absent). */
  values?: readonly string[];
}

/** Most options one plugin may declare. */
export const MAX_PLUGIN_OPTIONS = 32;
/** Longest text a `string` option accepts. */
const MAX_TEXT = 200;
const KEY = /^[a-z][A-Za-z0-9]{0,39}$/;
/** Keys every exchange section has (config/exchanges.ts), and the REST URL tickwire handles itself. */
const RESERVED = new Set(['url', 'symbols', 'channels', 'reliability', 'restUrl', 'options']);

/** Check a plugin's `options` schema, adding each problem to `problems`. */
export function checkOptionSchema(options: unknown, gapRecovery: boolean, problems: string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    problems.push(`options: got ${showValue(options)}, expected a map of key → { type, description, ... }`);
    return;
  }
  const entries = Object.entries(options);
  if (entries.length > MAX_PLUGIN_OPTIONS) problems.push(`options: ${entries.length} keys, expected at most ${MAX_PLUGIN_OPTIONS}`);
  for (const [key, spec] of entries.slice(0, MAX_PLUGIN_OPTIONS)) {
    const at = `options.${key}`;
    if (!KEY.test(key)) problems.push(`${at}: expected a key of a lower-case letter then letters or digits (camelCase)`);
    else if (RESERVED.has(key)) problems.push(`${at}: ${key} is a key tickwire handles itself${key === 'restUrl' && gapRecovery ? ' (gapRecovery adds it)' : ''}, expected a name of the plugin's own`);
    if (typeof spec !== 'object' || spec === null) {
      problems.push(`${at}: got ${showValue(spec)}, expected { type, description, ... }`);
      continue;
    }
    const o = spec as Partial<PluginOption>;
    if (!(OPTION_TYPES as readonly unknown[]).includes(o.type)) {
      problems.push(`${at}.type: got ${showValue(o.type)}, expected one of ${OPTION_TYPES.join(', ')}`);
      continue;
    }
    if (typeof o.description !== 'string' || o.description.length === 0) problems.push(`${at}.description: expected a sentence saying what it does`);
    if (o.values !== undefined && (o.type !== 'string' || !Array.isArray(o.values) || o.values.length === 0 || !o.values.every((v) => typeof v === 'string'))) {
      problems.push(`${at}.values: expected a non-empty list of texts, for a string option`);
    }
    for (const bound of ['min', 'max'] as const) {
      if (o[bound] !== undefined && ((o.type !== 'number' && o.type !== 'integer') || typeof o[bound] !== 'number' || !Number.isFinite(o[bound]))) {
        problems.push(`${at}.${bound}: expected a finite number, for a number or integer option`);
      }
    }
    if (o.default !== undefined && valueProblem(o as PluginOption, o.default) !== undefined) {
      problems.push(`${at}.default: got ${showValue(o.default)}, expected ${expectation(o as PluginOption)}`);
    }
  }
}

/**
 * The checkConfig of a plugin's registry entry: its options read from an
 * exchange section (and `restUrl` with gap recovery); each message about an
 * option names the plugin (`label`).
 */
export function optionChecker(options: Readonly<Record<string, PluginOption>>, gapRecovery: boolean, label: string): NonNullable<AdapterEntry['checkConfig']> {
  return (c, section, path) => {
    const values: Record<string, PluginOptionValue> = {};
    for (const [key, spec] of Object.entries(options)) values[key] = readOption(c, section[key], keyPath(path, key), { ...spec, description: `plugin ${label}: ${spec.description}` });
    const restUrl = gapRecovery ? c.url(section.restUrl, keyPath(path, 'restUrl'), ['http:', 'https:'], 'an http:// or https:// URL') : undefined;
    return { options: values, restUrl } satisfies Partial<ExchangeConfig>;
  };
}

/** Every option at its default (an adapter built outside a config: the plugin check's probe). */
export function optionDefaults(options: Readonly<Record<string, PluginOption>>): Record<string, PluginOptionValue> {
  return Object.fromEntries(Object.entries(options).map(([key, spec]) => [key, spec.default]));
}

function readOption(c: Checker, value: unknown, path: string, spec: PluginOption): PluginOptionValue {
  if (value === undefined || value === null || value === '') {
    if (spec.required === true) c.issues.push({ path, message: `missing, expected ${expectation(spec)}` });
    return spec.default;
  }
  if (spec.type === 'secret') return c.credential(value, path, spec.required === true, expectation(spec));
  if (spec.type === 'boolean') return c.boolean(value, path, spec.default as boolean | undefined ?? false);
  if (spec.type === 'number' || spec.type === 'integer') {
    return c.number(value, path, spec.default as number, (n) => valueProblem(spec, n) === undefined, expectation(spec));
  }
  if (valueProblem(spec, value) === undefined) return value as string;
  c.fail(path, value, expectation(spec));
  return spec.default;
}

/** Why `value` does not fit `spec`, or undefined when it does. */
function valueProblem(spec: PluginOption, value: unknown): string | undefined {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'not a boolean';
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'not a number';
      if (spec.type === 'integer' && !Number.isInteger(value)) return 'not an integer';
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) return 'out of range';
      return undefined;
    }
    case 'url':
      try {
        return typeof value === 'string' && ['http:', 'https:', 'ws:', 'wss:'].includes(new URL(value).protocol) ? undefined : 'not a URL';
      } catch {
        return 'not a URL';
      }
    case 'string':
    case 'secret':
      if (typeof value !== 'string' || value.length > MAX_TEXT) return 'not a text';
      return spec.values === undefined || spec.values.includes(value) ? undefined : 'not one of the values';
  }
}

/** "an integer from 1 to 100 (how deep the book is)": what the config must give, with the option's description. */
function expectation(spec: PluginOption): string {
  const range = spec.min !== undefined && spec.max !== undefined ? ` from ${spec.min} to ${spec.max}` : spec.min !== undefined ? ` of at least ${spec.min}` : spec.max !== undefined ? ` of at most ${spec.max}` : '';
  const what = {
    string: spec.values === undefined ? `a text of up to ${MAX_TEXT} characters` : `one of ${spec.values.join(', ')}`,
    number: `a number${range}`,
    integer: `an integer${range}`,
    boolean: 'true or false',
    url: 'an http(s):// or ws(s):// URL',
    secret: 'a text (set it from the environment, e.g. ${VAR})',
  }[spec.type];
  return `${what} (${spec.description})`;
}
