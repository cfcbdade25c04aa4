// The REST/JSON form of the management API (grpc-gateway transcoding), routed from the
// `google.api.http` bindings of our generated descriptors, so REST and gRPC call the same handlers
// and cannot drift: path variables and query parameters fill request fields, the binding's `body`
// names the field the JSON body fills (`*` for the whole request), and the response is the method's
// output message as proto JSON (snake_case names, enums as strings, RFC 3339 timestamps).
import {
  create,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromJson,
  getOption,
  hasOption,
  type JsonValue,
  ScalarType,
  toJson,
} from '@bufbuild/protobuf';
import { Code, createContextValues, createHandlerContext } from '@connectrpc/connect';
import type { Context, Hono } from 'hono';
import type { ServerContext } from '../context.ts';
import type { AppEnv } from '../http/env.ts';
import { authenticateCaller, withCaller } from './auth.ts';
import { httpStatus, invalidField, ManagementError, toManagementError, toStatusJson } from './errors.ts';
import { http } from './gen/google/api/annotations_pb.ts';
import type { HttpRule } from './gen/google/api/http_pb.ts';
import type { ServiceBinding } from './services/index.ts';

type UnaryHandler = (request: unknown, context: ReturnType<typeof createHandlerContext>) => Promise<unknown>;

/** One HTTP binding of one method. */
export interface RestRoute {
  verb: string;
  template: string;
  pattern: RegExp;
  /** Request field paths of the path variables, in order. */
  variables: string[];
  /** "" (no body), "*" (the whole request) or the request field the body fills. */
  body: string;
  service: DescService;
  method: DescMethod;
  handler: UnaryHandler;
}

/** The REST routes of every bound method, read from the descriptors' `google.api.http` options. */
export function restRoutes(services: ServiceBinding[]): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const { service, impl } of services) {
    for (const method of service.methods) {
      const handler = (impl as Record<string, UnaryHandler | undefined>)[method.localName];
      if (!handler || method.methodKind !== 'unary' || !hasOption(method, http)) continue;
      const rule = getOption(method, http);
      for (const binding of [rule, ...rule.additionalBindings]) {
        routes.push({ ...compile(binding), service, method, handler });
      }
    }
  }
  return routes;
}

function compile(binding: HttpRule): Pick<RestRoute, 'verb' | 'template' | 'pattern' | 'variables' | 'body'> {
  const { pattern } = binding;
  if (pattern.case === undefined || pattern.case === 'custom') {
    throw new TypeError('management REST: only get/put/post/delete/patch bindings are supported');
  }
  const template = pattern.value;
  const variables: string[] = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const variable = /^\{([a-z0-9_.]+)\}$/.exec(part);
      if (variable) {
        variables.push(variable[1] as string);
        return '([^/]+)';
      }
      if (part.includes('{')) throw new TypeError(`management REST: unsupported path template ${template}`);
      return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    })
    .join('');
  return {
    verb: pattern.case.toUpperCase(),
    template,
    pattern: new RegExp(`^${source}$`),
    variables,
    body: binding.body,
  };
}

/** Mounts `/api/*`: every management REST route, and `google.rpc.Status` errors for the rest. */
export function mountRest(app: Hono<AppEnv>, ctx: ServerContext, services: ServiceBinding[]): void {
  const routes = restRoutes(services);
  app.all('/api/*', async (c) => {
    const path = c.req.path;
    const matches = routes.flatMap((route) => {
      const match = route.pattern.exec(path);
      return match ? [{ route, values: match.slice(1) }] : [];
    });
    if (matches.length === 0) {
      return sendError(c, new ManagementError(Code.NotFound, `No management API method at ${path}`));
    }
    const verb = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    const chosen = matches.find((m) => m.route.verb === verb);
    if (!chosen) {
      const allow = [...new Set(matches.map((m) => m.route.verb))].join(', ');
      c.header('Allow', allow);
      return sendError(
        c,
        new ManagementError(Code.Unimplemented, `${c.req.method} is not allowed here; use ${allow}`),
        405,
      );
    }
    const { route, values } = chosen;
    try {
      const caller = await authenticateCaller(ctx, c.req.header('authorization') ?? null);
      const json = await requestJson(c, route, values);
      const input = decode(route.method.input, json);
      const context = createHandlerContext({
        service: route.service,
        method: route.method,
        protocolName: 'rest',
        requestMethod: c.req.method,
        url: c.req.url,
        requestHeader: c.req.raw.headers,
        contextValues: withCaller(createContextValues(), caller),
      });
      const output = create(
        route.method.output,
        (await route.handler(input, context)) as Record<string, unknown>,
      );
      c.header('Cache-Control', 'no-store');
      const status = route.verb === 'POST' && route.method.name.startsWith('Create') ? 201 : 200;
      return c.json(
        toJson(route.method.output, output, { useProtoFieldName: true, alwaysEmitImplicit: true }) as object,
        status,
      );
    } catch (err) {
      return sendError(
        c,
        toManagementError(err, ctx.logger, {
          method: `${route.service.typeName}/${route.method.name}`,
          requestId: c.get('requestId'),
        }),
      );
    }
  });
}

/** A request body over the app's limit, answered in the management API's error format. */
export function tooLargeForManagementApi(c: Context<AppEnv>): Response {
  return sendError(c, invalidField('(body)', 'is too large'));
}

function sendError(c: Context<AppEnv>, error: ManagementError, status = httpStatus(error.code)): Response {
  c.header('Cache-Control', 'no-store');
  if (error.code === Code.Unauthenticated) c.header('WWW-Authenticate', 'Bearer realm="sesame"');
  if (error.code === Code.Unavailable) c.header('Retry-After', '5');
  return c.json(toStatusJson(error), status as 400);
}

type JsonObject = { [key: string]: JsonValue };

/** The request as proto JSON: body, then query parameters, then path variables. */
async function requestJson(c: Context<AppEnv>, route: RestRoute, values: string[]): Promise<JsonObject> {
  const json: JsonObject = {};
  if (route.body !== '') {
    const body = await readBody(c);
    if (route.body === '*') {
      if (body !== undefined) {
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw invalidField('(body)', 'must be a JSON object');
        }
        for (const variable of route.variables) {
          if (Object.hasOwn(body, variable.split('.')[0] as string)) {
            throw invalidField(variable, 'is given in the path; leave it out of the body');
          }
        }
        Object.assign(json, body);
      }
    } else if (body !== undefined) {
      json[route.body] = body;
    }
  }
  const url = new URL(c.req.url);
  const keys = [...new Set(url.searchParams.keys())];
  for (const key of keys) {
    if (route.body === '*')
      throw invalidField(key, 'query parameters are not accepted here; send it in the body');
    const topLevel = key.split('.')[0] as string;
    if (route.variables.some((v) => v.split('.')[0] === topLevel) || topLevel === route.body) {
      throw invalidField(key, 'cannot be given as a query parameter here');
    }
    setQueryParameter(route.method.input, json, key, url.searchParams.getAll(key));
  }
  for (const [i, variable] of route.variables.entries()) {
    let value: string;
    try {
      value = decodeURIComponent(values[i] as string);
    } catch {
      throw invalidField(variable, 'is not a valid URL path segment');
    }
    setPath(json, variable.split('.'), value);
  }
  return json;
}

async function readBody(c: Context<AppEnv>): Promise<JsonValue | undefined> {
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw invalidField('(body)', 'Content-Type must be application/json');
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw invalidField('(body)', 'is not valid JSON');
  }
}

function setPath(json: JsonObject, path: string[], value: JsonValue): void {
  let target = json;
  for (const segment of path.slice(0, -1)) {
    const next = target[segment];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) target = next;
    else {
      const created: JsonObject = {};
      target[segment] = created;
      target = created;
    }
  }
  target[path.at(-1) as string] = value;
}

function fieldNamed(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name || f.jsonName === name);
}

/** A query parameter (`page_size=10`, `filter.status=active&filter.status=revoked`) into the JSON. */
function setQueryParameter(input: DescMessage, json: JsonObject, key: string, values: string[]): void {
  const segments = key.split('.');
  let message = input;
  const path: string[] = [];
  for (const [i, segment] of segments.entries()) {
    const field = fieldNamed(message, segment);
    if (!field) throw invalidField(key, 'unknown field');
    path.push(field.name);
    const last = i === segments.length - 1;
    if (!last) {
      if (field.fieldKind !== 'message') throw invalidField(key, 'unknown field');
      message = field.message;
      continue;
    }
    if (field.fieldKind === 'map' || (field.fieldKind === 'list' && field.listKind === 'message')) {
      throw invalidField(key, 'cannot be given as a query parameter');
    }
    if (field.fieldKind === 'message' && !field.message.typeName.startsWith('google.protobuf.')) {
      throw invalidField(key, 'cannot be given as a query parameter');
    }
    const convert = (value: string): JsonValue => {
      if (field.fieldKind === 'message' && field.message.typeName === 'google.protobuf.FieldMask') {
        // The JSON form of a field mask is lowerCamelCase; accept the proto names too.
        return value
          .split(',')
          .map((p) => p.trim().replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase()))
          .join(',');
      }
      if ((field.fieldKind === 'scalar' || field.fieldKind === 'list') && field.scalar === ScalarType.BOOL) {
        return value === 'true' ? true : value === 'false' ? false : value;
      }
      return value;
    };
    if (field.fieldKind === 'list') setPath(json, path, values.map(convert));
    else {
      if (values.length > 1) throw invalidField(key, 'must be given once');
      setPath(json, path, convert(values[0] as string));
    }
  }
}

/** Proto JSON into the request message; a failure names the field it is about. */
function decode(schema: DescMessage, json: JsonObject): unknown {
  try {
    return fromJson(schema, json, { ignoreUnknownFields: false });
  } catch (err) {
    const violation = locateJsonError(schema, json, '');
    if (violation) throw invalidField(violation.field, violation.description);
    throw invalidField('(body)', err instanceof Error ? describe(err) : 'is not a valid request');
  }
}

function describe(err: Error): string {
  const oneof = /oneof set multiple times by (\w+) and (\w+)/.exec(err.message);
  if (oneof) return `only one of ${oneof[1]} and ${oneof[2]} may be set`;
  const at = err.message.indexOf('from JSON: ');
  return at >= 0 ? err.message.slice(at + 'from JSON: '.length) : 'is not valid';
}

/** Finds which field of `json` fails to decode, walking into nested messages. */
function locateJsonError(
  schema: DescMessage,
  json: JsonValue,
  path: string,
): { field: string; description: string } | null {
  const here = path || '(body)';
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { field: here, description: 'must be a JSON object' };
  }
  for (const [key, value] of Object.entries(json)) {
    const field = fieldNamed(schema, key);
    const fieldPath = path ? `${path}.${field?.name ?? key}` : (field?.name ?? key);
    if (!field) return { field: fieldPath, description: 'unknown field' };
    try {
      fromJson(schema, { [key]: value }, { ignoreUnknownFields: false });
    } catch (err) {
      if (
        value !== null &&
        field.fieldKind === 'message' &&
        !field.message.typeName.startsWith('google.protobuf.')
      ) {
        const nested = locateJsonError(field.message, value, fieldPath);
        if (nested) return nested;
      }
      if (field.fieldKind === 'list' && field.listKind === 'message' && Array.isArray(value)) {
        for (const [i, item] of value.entries()) {
          const nested = locateJsonError(field.message, item, `${fieldPath}[${i}]`);
          if (nested) return nested;
        }
      }
      return { field: fieldPath, description: err instanceof Error ? describe(err) : 'is not valid' };
    }
  }
  try {
    fromJson(schema, json, { ignoreUnknownFields: false });
    return null;
  } catch (err) {
    const oneof = /oneof set multiple times by (\w+) and (\w+)/.exec(err instanceof Error ? err.message : '');
    if (oneof)
      return {
        field: path ? `${path}.${oneof[2]}` : (oneof[2] as string),
        description: describe(err as Error),
      };
    return null;
  }
}
