// Input checks shared by the management handlers, with the hosted service's limits (its
// `buf.validate` rules): each failure is `InvalidArgument` naming the field by its proto path.
import type { IdPrefix } from '../lib/ids.ts';
import { invalidField } from './errors.ts';

export interface StringRule {
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** Worded for the message, e.g. "letters, digits and underscores". */
  patternDescription?: string;
}

/** Characters, counted as code points (what `buf.validate` calls length). */
function length(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** Checks a string against length and pattern rules; returns it. */
export function checkString(field: string, value: string, rule: StringRule): string {
  const n = length(value);
  const { min = 0, max } = rule;
  if (n < min || (max !== undefined && n > max)) {
    if (min > 0 && n === 0) throw invalidField(field, 'is required');
    if (max === undefined) throw invalidField(field, `must be at least ${min} characters`);
    throw invalidField(
      field,
      min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`,
    );
  }
  if (rule.pattern && !rule.pattern.test(value)) {
    throw invalidField(
      field,
      `must contain only ${rule.patternDescription ?? `text matching ${rule.pattern}`}`,
    );
  }
  return value;
}

/** A required string (proto3 has no "unset" for it: empty is missing). */
export function requireString(field: string, value: string, rule: StringRule = {}): string {
  if (value === '') throw invalidField(field, 'is required');
  return checkString(field, value, rule);
}

/** A required message field. */
export function requireMessage<T>(field: string, value: T | undefined): T {
  if (value === undefined) throw invalidField(field, 'is required');
  return value;
}

/** Our identifiers: the kind's prefix and at most 64 characters. */
export function requireId(field: string, value: string, prefix: IdPrefix): string {
  if (value === '') throw invalidField(field, 'is required');
  if (!value.startsWith(`${prefix}_`) || value.length > 64 || !/^[a-z0-9_]+$/.test(value)) {
    throw invalidField(field, `must be an identifier starting with ${prefix}_`);
  }
  return value;
}

/** An external id: 1 to 255 characters. */
export function checkExternalId(field: string, value: string): string {
  return checkString(field, value, { min: 1, max: 255 });
}

export interface MapRule {
  maxPairs: number;
  key: { min: number; max: number };
  value: { min: number; max: number };
}

/** Metadata limits of organizations (10 pairs) and of users and memberships (20 pairs). */
export const organizationMetadata: MapRule = {
  maxPairs: 10,
  key: { min: 3, max: 25 },
  value: { min: 1, max: 256 },
};
export const userMetadata: MapRule = { maxPairs: 20, key: { min: 3, max: 25 }, value: { min: 1, max: 256 } };

/** Checks a string map (metadata); returns a plain copy. */
export function checkMap(field: string, map: Record<string, string>, rule: MapRule): Record<string, string> {
  const entries = Object.entries(map);
  if (entries.length > rule.maxPairs) throw invalidField(field, `must have at most ${rule.maxPairs} entries`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    const n = length(key);
    if (n < rule.key.min || n > rule.key.max) {
      throw invalidField(field, `keys must be ${rule.key.min} to ${rule.key.max} characters`);
    }
    checkString(`${field}[${key}]`, value, { min: rule.value.min, max: rule.value.max });
    out[key] = value;
  }
  return out;
}

/** Role names: letters, digits and underscores, at most 64. */
export const roleNameRule: StringRule = {
  min: 1,
  max: 64,
  pattern: /^[a-zA-Z0-9_]+$/,
  patternDescription: 'letters, digits and underscores',
};

/** Permission names: letters, digits, underscores and colons (`resource:action`), at most 64. */
export const permissionNameRule: StringRule = {
  min: 1,
  max: 64,
  pattern: /^[a-zA-Z0-9_:]+$/,
  patternDescription: 'letters, digits, underscores and colons',
};

/** A plausible email address, at most 254 characters. */
export function checkEmail(field: string, value: string): string {
  if (value === '') throw invalidField(field, 'is required');
  if (value.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
    throw invalidField(field, 'must be an email address');
  }
  return value;
}

/** A field this server does not store: refused rather than silently dropped. */
export function refuseUnsupported(field: string, isSet: boolean): void {
  if (isSet) throw invalidField(field, 'is not supported by this server');
}

/** The page size of a listing: 0 (or unset) means the default of 10. */
export function pageSize(
  field: string,
  value: number | undefined,
  options: { max?: number; min?: number } = {},
): number {
  const { max = 100, min = 0 } = options;
  if (value === undefined) return 10;
  if (value < min || value > max) throw invalidField(field, `must be between ${Math.max(min, 1)} and ${max}`);
  return value === 0 ? 10 : value;
}
