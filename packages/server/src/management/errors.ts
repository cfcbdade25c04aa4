// One error type for the management API, rendered two ways from one table: a gRPC status with a
// `scalekit.v1.errdetails.ErrorInfo` detail, or the REST `google.rpc.Status` JSON body with the
// matching HTTP status. Unexpected failures become `Internal` with no detail on the wire.
import { create, toJson } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from 'pino';
import { unavailableMark } from '../protocol/errors.ts';
import { AlreadyExistsError } from '../storage/store.ts';
import { type ErrorInfo, ErrorInfoSchema } from './gen/scalekit/v1/errdetails/errdetails_pb.ts';

/** The HTTP status of each gRPC code, as grpc-gateway maps them (the one table). */
const httpStatusOf: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.FailedPrecondition]: 400,
  [Code.OutOfRange]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.Aborted]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Canceled]: 499,
  [Code.Internal]: 500,
  [Code.Unknown]: 500,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

/** The HTTP status a gRPC code is answered with on the REST form. */
export function httpStatus(code: Code): number {
  return httpStatusOf[code] ?? 500;
}

/** `INVALID_ARGUMENT` for `Code.InvalidArgument`: the default `error_code`. */
export function codeName(code: Code): string {
  return (Code[code] ?? 'Unknown').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/** A request field that failed validation, as a proto path (`organization.display_name`). */
export interface FieldViolation {
  field: string;
  description: string;
}

/** A management API failure whose message is safe to send. */
export class ManagementError extends Error {
  readonly code: Code;
  readonly errorCode: string;
  readonly field: string | undefined;
  /** What is wrong with `field`, without its name. */
  readonly description: string;

  constructor(
    code: Code,
    message: string,
    options: { errorCode?: string; field?: string; description?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ManagementError';
    this.code = code;
    this.errorCode = options.errorCode ?? codeName(code);
    this.field = options.field;
    this.description = options.description ?? message;
  }

  /** The `ErrorInfo` detail: the error code, and the field that failed validation. */
  errorInfo(): ErrorInfo {
    return create(ErrorInfoSchema, {
      errorCode: this.errorCode,
      ...(this.field === undefined
        ? {}
        : {
            validationErrorInfo: {
              fieldViolations: [{ field: this.field, description: this.description }],
            },
          }),
    });
  }
}

/** A field that is missing or malformed: `InvalidArgument`, the message naming the field. */
export function invalidField(field: string, description: string): ManagementError {
  return new ManagementError(Code.InvalidArgument, `${field}: ${description}`, { field, description });
}

/** A resource that does not exist. */
export function notFound(what: string, field?: string): ManagementError {
  return new ManagementError(Code.NotFound, `${what} not found`, field === undefined ? {} : { field });
}

/** A name or external id already taken. */
export function alreadyExists(field: string, what: string): ManagementError {
  return new ManagementError(Code.AlreadyExists, `${field}: ${what} already exists`, {
    field,
    description: `${what} already exists`,
  });
}

/** The caller is not an app allowed to use the management API. */
export function unauthenticated(message = 'A management access token is required'): ManagementError {
  return new ManagementError(Code.Unauthenticated, message);
}

/**
 * Turns anything thrown by a handler into a `ManagementError`: storage outages become
 * `Unavailable`, anything else unexpected `Internal` (its cause logged, never sent).
 */
export function toManagementError(
  err: unknown,
  log: Logger,
  context: Record<string, unknown>,
): ManagementError {
  if (err instanceof ManagementError) return err;
  if (err instanceof ConnectError) return new ManagementError(err.code, err.rawMessage);
  if (typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[unavailableMark] === true) {
    log.error({ err, ...context }, 'management request failed: storage unavailable');
    return new ManagementError(Code.Unavailable, 'The service is temporarily unavailable, try again shortly');
  }
  if (err instanceof AlreadyExistsError) {
    // A race lost to a concurrent write: the pre-checks passed, the unique index did not.
    return new ManagementError(Code.AlreadyExists, `${err.field} already exists`);
  }
  log.error({ err, ...context }, 'management request failed');
  return new ManagementError(Code.Internal, 'An unexpected error occurred');
}

/** The gRPC form: a `ConnectError` carrying the `ErrorInfo` detail. */
export function toConnectError(error: ManagementError): ConnectError {
  return new ConnectError(error.message, error.code, undefined, [
    { desc: ErrorInfoSchema, value: error.errorInfo() },
  ]);
}

/** The REST form: the `google.rpc.Status` JSON body, details as `Any` with `@type`. */
export function toStatusJson(error: ManagementError): {
  code: number;
  message: string;
  details: Array<Record<string, unknown>>;
} {
  const info = toJson(ErrorInfoSchema, error.errorInfo(), { useProtoFieldName: true }) as Record<
    string,
    unknown
  >;
  return {
    code: error.code,
    message: error.message,
    details: [{ '@type': `type.googleapis.com/${ErrorInfoSchema.typeName}`, ...info }],
  };
}
