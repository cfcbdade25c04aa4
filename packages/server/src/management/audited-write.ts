// Every management write runs in one transaction with its audit event (who, what, when, which
// fields), so a write is never without its record nor a record without its write. Work that ends
// sessions wakes the back-channel worker only after the commit, when the notices are visible.
import type { HandlerContext } from '@connectrpc/connect';
import type { ServerContext } from '../context.ts';
import { newId } from '../lib/ids.ts';
import { Wakeup } from '../lib/wakeup.ts';
import { callerOf } from './auth.ts';

/** What a write changed, for its audit event: never secrets. */
export interface AuditRecord {
  targetType: string;
  targetId: string | null;
  detail: Record<string, unknown>;
}

/** Remembers a kick until the transaction is over. */
class DeferredWakeup extends Wakeup {
  kicked = false;
  override kick(): void {
    this.kicked = true;
  }
}

/**
 * Runs `work` in a transaction against a context bound to it; each `record` call appends an audit
 * event (action `<Service>.<Method>`, actor the calling app) in the same transaction.
 */
export async function auditedWrite<T>(
  ctx: ServerContext,
  context: HandlerContext,
  work: (tx: ServerContext, record: (event: AuditRecord) => void) => Promise<T>,
): Promise<T> {
  const actor = callerOf(context);
  const action = `${context.service.name}.${context.method.name}`;
  const wakeup = new DeferredWakeup();
  const result = await ctx.store.transaction(async (store) => {
    const events: AuditRecord[] = [];
    const tx: ServerContext = { ...ctx, store, logoutDeliveryWakeup: wakeup };
    const value = await work(tx, (event) => events.push(event));
    const createdAt = ctx.config.now();
    for (const event of events) {
      await store.audit.append({ id: newId('aud'), actor, action, ...event, createdAt });
    }
    return value;
  });
  if (wakeup.kicked) ctx.logoutDeliveryWakeup.kick();
  return result;
}
