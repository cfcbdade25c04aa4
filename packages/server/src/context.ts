import type { Logger } from 'pino';
import type { PasswordHasher } from './accounts/passwords.ts';
import type { Config } from './config/config.ts';
import type { KeyRing } from './keys/key-ring.ts';
import type { Wakeup } from './lib/wakeup.ts';
import type { Store } from './storage/store.ts';

/** What protocol functions run against: explicit, assembled once at start-up, replaced in tests. */
export interface ServerContext {
  readonly config: Config;
  readonly store: Store;
  readonly keys: KeyRing;
  readonly passwords: PasswordHasher;
  readonly logger: Logger;
  /** Opens successor responses sealed by earlier versions for the refresh grace window. */
  readonly sealingKey: Uint8Array;
  /** Derives a rotated refresh token's successor from it (HMAC), so a replay gets the same one. */
  readonly refreshSuccessorKey: Uint8Array;
  /** Signs CSRF tokens of the hosted forms. */
  readonly csrfKey: Uint8Array;
  /** Wakes the back-channel logout worker when a session ends, so notices go out at once. */
  readonly logoutDeliveryWakeup: Wakeup;
  /** Waits before answering a sign-in that is being slowed down; tests make it instant. */
  readonly sleep: (ms: number) => Promise<void>;
}
