// scalekit.v1.sessions.SessionService: a user's sign-in sessions, and revoking them. Revoking is
// logout: the session ends, its grants and refresh tokens die with it, and back-channel logout
// notices are queued for its apps in the same transaction (`endSession`).

import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { ServerContext } from '../../context.ts';
import { endSession } from '../../protocol/sessions.ts';
import type { Session } from '../../storage/types.ts';
import { auditedWrite } from '../audited-write.ts';
import { invalidField, notFound } from '../errors.ts';
import type {
  RevokeAllUserSessionsRequest,
  RevokeSessionRequest,
  SessionDetailsRequest,
  SessionService,
  UserSessionDetailsRequest,
} from '../gen/scalekit/v1/sessions/sessions_pb.ts';
import { memoryPage, readPageToken, storePage } from '../paging.ts';
import { pageSize, requireId } from '../validate.ts';
import { revokedSessionView, sessionStatus, sessionView } from '../views.ts';
import { requireUser } from './users.ts';

const statuses = ['active', 'expired', 'revoked', 'logout'];

export function sessionService(ctx: ServerContext): ServiceImpl<typeof SessionService> {
  const requireSession = async (id: string): Promise<Session> => {
    const session = await ctx.store.sessions.get(requireId('session_id', id, 'ses'));
    if (!session) throw notFound('session');
    return session;
  };

  return {
    async getSession(req: SessionDetailsRequest) {
      return sessionView(await requireSession(req.sessionId), ctx.config.now());
    },

    async revokeSession(req: RevokeSessionRequest, context: HandlerContext) {
      const session = await requireSession(req.sessionId);
      // Revoking a session that is already over changes nothing (and records nothing).
      if (session.endedAt) return { revokedSession: revokedSessionView(session, ctx.config.now()) };
      const ended = await auditedWrite(ctx, context, async (tx, record) => {
        const result = await endSession(tx, session.id, 'revoked');
        if (result)
          record({ targetType: 'session', targetId: session.id, detail: { user_id: session.userId } });
        return result;
      });
      const current = ended ?? (await requireSession(session.id));
      return { revokedSession: revokedSessionView(current, ctx.config.now()) };
    },

    async getUserSessions(req: UserSessionDetailsRequest) {
      const user = await requireUser(ctx.store, 'user_id', req.userId);
      const size = pageSize('page_size', req.pageSize);
      const filter = req.filter;
      for (const [i, status] of (filter?.status ?? []).entries()) {
        if (!statuses.includes(status)) {
          throw invalidField(`filter.status[${i}]`, `must be one of ${statuses.join(', ')}`);
        }
      }
      const start = filter?.startTime ? timestampDate(filter.startTime) : null;
      const end = filter?.endTime ? timestampDate(filter.endTime) : null;
      if (start && end && start > end) throw invalidField('filter.end_time', 'must not be before start_time');
      const filtered = Boolean(filter && (filter.status.length > 0 || start || end));
      const now = ctx.config.now();
      const position = readPageToken(
        'page_token',
        req.pageToken,
        `users/${user.id}/sessions${filtered ? `?${JSON.stringify([filter?.status, start, end])}` : ''}`,
      );
      if (!filtered) {
        const page = storePage(
          position,
          await ctx.store.sessions.listForUser(user.id, { limit: size, cursor: position.after }),
        );
        return { ...page.tokens, sessions: page.items.map((s) => sessionView(s, now)) };
      }
      // A filtered listing is read whole (a user has few sessions: ended ones are swept after days).
      const all: Session[] = [];
      let cursor: string | null = null;
      do {
        const page = await ctx.store.sessions.listForUser(user.id, { limit: 100, cursor });
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      const matching = all.filter(
        (s) =>
          (!filter?.status.length || filter.status.includes(sessionStatus(s, now))) &&
          (!start || s.createdAt >= start) &&
          (!end || s.createdAt <= end),
      );
      const page = memoryPage(position, matching, (s) => s.id, size);
      return { ...page.tokens, sessions: page.items.map((s) => sessionView(s, now)) };
    },

    async revokeAllUserSessions(req: RevokeAllUserSessionsRequest, context: HandlerContext) {
      const user = await requireUser(ctx.store, 'user_id', req.userId);
      const revoked = await auditedWrite(ctx, context, async (tx, record) => {
        const ended: Session[] = [];
        // Ending a session takes it off the live listing, so the first page is read again.
        for (;;) {
          const page = await tx.store.sessions.listForUser(user.id, { limit: 100 }, { activeOnly: true });
          if (page.items.length === 0) break;
          for (const session of page.items) {
            const result = await endSession(tx, session.id, 'revoked');
            if (result) ended.push(result);
          }
        }
        if (ended.length > 0) {
          record({
            targetType: 'user',
            targetId: user.id,
            detail: { sessions_revoked: ended.map((s) => s.id) },
          });
        }
        return ended;
      });
      const now = ctx.config.now();
      return {
        revokedSessions: revoked.map((s) => revokedSessionView(s, now)),
        totalRevoked: revoked.length,
      };
    },
  };
}
