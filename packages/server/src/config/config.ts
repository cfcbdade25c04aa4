import type { ParsedConfig } from './schema.ts';

/** The server's configuration: settings plus the clock every component reads time from. */
export interface Config extends ParsedConfig {
  /** The issuer's URL, parsed. */
  readonly issuerUrl: URL;
  /** Whether cookies must be `Secure` (`__Host-` prefixed): the issuer is https. */
  readonly secureCookies: boolean;
  /** The clock; tests replace it. */
  readonly now: () => Date;
  /** Authorization codes live this long (seconds). */
  readonly codeTtl: number;
  /** A pending sign-in (interaction) lives this long (seconds). */
  readonly interactionTtl: number;
  /** A rotated refresh token may be presented again for this long (seconds). */
  readonly refreshGrace: number;
  /** Clock tolerance when validating tokens (seconds). */
  readonly clockTolerance: number;
}
