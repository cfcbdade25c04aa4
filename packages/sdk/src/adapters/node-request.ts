import type { IncomingMessage, ServerResponse } from 'node:http';

/** Reads a Node request into a web `Request`. `parsedBody` is what a body parser already consumed. */
export async function toWebRequest(
  req: IncomingMessage,
  options: { url: string; parsedBody?: unknown },
): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = req.method ?? 'GET';
  let body: string | Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    const parsed = options.parsedBody;
    if (
      parsed !== undefined &&
      parsed !== null &&
      typeof parsed === 'object' &&
      !Buffer.isBuffer(parsed) &&
      Object.keys(parsed).length > 0
    ) {
      // A body parser ran first: re-encode what it read.
      body = new URLSearchParams(parsed as Record<string, string>).toString();
    } else if (typeof parsed === 'string') {
      body = parsed;
    } else if (Buffer.isBuffer(parsed)) {
      body = parsed;
    } else if (!req.readableEnded) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > 64 * 1024) break;
        chunks.push(chunk as Buffer);
      }
      body = Buffer.concat(chunks);
    }
  }
  return new Request(options.url, {
    method,
    headers,
    ...(body === undefined ? {} : { body: body as BodyInit }),
  });
}

/** Writes a web `Response` to a Node response (every `Set-Cookie` kept). */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  res.end(response.body ? Buffer.from(await response.arrayBuffer()) : undefined);
}
