/**
 * Where back-channel logouts are recorded so every instance of the app honours them: a provider
 * session (`sid`) is ended, or every session a user (`sub`) started up to a moment.
 */
export interface RevocationStore {
  /** Records a logout until `expiresAt` (when no session it ends can still be alive). */
  revoke(entry: { sid?: string; sub?: string; at: Date }, expiresAt: Date): Promise<void>;
  /** Whether a session with this `sid`, of user `sub`, signed in at `authTime`, was ended. */
  isRevoked(entry: { sid: string | null; sub: string; authTime: Date | null }): Promise<boolean>;
  /** Records a logout token's `jti`; `false` when it was seen before (a replay). */
  rememberJti(jti: string, expiresAt: Date): Promise<boolean>;
}
