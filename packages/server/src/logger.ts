import { type DestinationStream, type Logger, pino } from 'pino';

/** Field names whose values must never reach a log line, wherever they appear. */
const secretFields = [
  'password',
  'client_secret',
  'clientSecret',
  'secret',
  'code',
  'code_verifier',
  'refresh_token',
  'access_token',
  'id_token',
  'id_token_hint',
  'logout_token',
  'token',
  'authorization',
  'cookie',
];

/** The structured logger: JSON lines, secrets redacted by name at any depth we log. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const paths = secretFields.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
  return pino(
    {
      level,
      base: { service: 'sesame' },
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
