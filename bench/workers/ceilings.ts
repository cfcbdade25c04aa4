// The ceilings the server scenarios are compared with, measured on one core: a tight loop of
// RS256 signatures (RSA-2048, node:crypto, synchronous) over a typical access token's signing
// input, then a tight loop of argon2id verifications with the OWASP parameters the server uses
// (m=19456 KiB, t=2, p=1). Prints one JSON line: { rs256PerSecond, argon2idPerSecond }.
import { generateKeyPairSync, sign } from 'node:crypto';
import { hashSync, verifySync } from '@node-rs/argon2';

const seconds = Number(process.argv[2] ?? '3');

function loop(work: () => void): number {
  for (let i = 0; i < 3; i++) work(); // warm up
  let n = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    work();
    n++;
  }
  return n / ((performance.now() - started) / 1000);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const signingInput = Buffer.from(
  `${b64({ alg: 'RS256', kid: 'snk_01jbench0000000000000000', typ: 'at+jwt' })}.${b64({
    iss: 'http://127.0.0.1:8080',
    aud: ['webc_01jbench0000000000000000'],
    sub: 'usr_01jbench0000000000000000',
    sid: 'ses_01jbench0000000000000000',
    exp: now + 300,
    iat: now,
    nbf: now,
    jti: 'tkn_01jbench0000000000000000',
    client_id: 'webc_01jbench0000000000000000',
    scope: 'openid profile email offline_access',
    roles: ['admin'],
    permissions: [],
  })}`,
);
const rs256PerSecond = loop(() => {
  sign('sha256', signingInput, privateKey);
});

// 2 is Algorithm.Argon2id (a const enum).
const argon2Options = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const stored = hashSync('correct horse battery staple', argon2Options);
const argon2idPerSecond = loop(() => {
  if (!verifySync(stored, 'correct horse battery staple')) throw new Error('argon2id verify failed');
});

process.stdout.write(`${JSON.stringify({ rs256PerSecond, argon2idPerSecond, seconds })}\n`);
