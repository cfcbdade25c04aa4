// Management API descriptors (spec: management.md, "Both forms are generated from one set of .proto
// files … field names, numbers and HTTP bindings are the public interface"). Our generated
// descriptors are compared with the ones the official @scalekit-sdk/node ships, method by method:
// names, message types, HTTP bindings, and every field (name, number, type, cardinality, oneof) and
// enum value reachable from the method. The SDK stubs out google/api/annotations.proto, so the
// `google.api.http` option is read, on both sides, from the method options' unknown fields.
import { createRequire } from 'node:module';
import {
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  fromBinary,
  ScalarType,
} from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { type HttpRule, HttpRuleSchema } from '../../src/management/gen/google/api/http_pb.ts';
import { file_scalekit_v1_commons_commons } from '../../src/management/gen/scalekit/v1/commons/commons_pb.ts';
import { file_scalekit_v1_errdetails_errdetails } from '../../src/management/gen/scalekit/v1/errdetails/errdetails_pb.ts';
import { file_scalekit_v1_organizations_organizations } from '../../src/management/gen/scalekit/v1/organizations/organizations_pb.ts';
import { file_scalekit_v1_roles_roles } from '../../src/management/gen/scalekit/v1/roles/roles_pb.ts';
import { file_scalekit_v1_sessions_sessions } from '../../src/management/gen/scalekit/v1/sessions/sessions_pb.ts';
import { file_scalekit_v1_users_users } from '../../src/management/gen/scalekit/v1/users/users_pb.ts';

const ours: DescFile[] = [
  file_scalekit_v1_organizations_organizations,
  file_scalekit_v1_users_users,
  file_scalekit_v1_roles_roles,
  file_scalekit_v1_sessions_sessions,
  file_scalekit_v1_commons_commons,
  file_scalekit_v1_errdetails_errdetails,
];

const require = createRequire(import.meta.url);
const theirs: DescFile[] = ['organizations', 'users', 'roles', 'sessions', 'commons', 'errdetails'].map(
  (pkg) =>
    (require(`@scalekit-sdk/node/lib/pkg/grpc/scalekit/v1/${pkg}/${pkg}_pb.js`) as Record<string, DescFile>)[
      `file_scalekit_v1_${pkg}_${pkg}`
    ]!,
);

/** `google.api.http` (MethodOptions) and `google.api.field_behavior` (FieldOptions) extension numbers. */
const HTTP_EXTENSION = 72295728;
const FIELD_BEHAVIOR_EXTENSION = 1052;

type Binding = { method: string; path: string; body: string; responseBody: string; additional: Binding[] };

/** A serialized `google.api.HttpRule`, read with our own generated schema of it. */
function decodeHttpRule(bytes: Uint8Array): Binding {
  return toBinding(fromBinary(HttpRuleSchema, bytes));
}

function toBinding(rule: HttpRule): Binding {
  const { pattern } = rule;
  const [method, path] =
    pattern.case === undefined
      ? ['', '']
      : pattern.case === 'custom'
        ? [pattern.value.kind, pattern.value.path]
        : [pattern.case.toUpperCase(), pattern.value];
  return {
    method,
    path,
    body: rule.body,
    responseBody: rule.responseBody,
    additional: rule.additionalBindings.map(toBinding),
  };
}

/**
 * The method's HTTP binding. protobuf-es keeps an unregistered extension as an unknown field whose
 * `data` is what follows the tag: for a length-delimited value, the length varint and the bytes.
 */
function httpBinding(method: DescMethod): Binding | null {
  const unknown = method.proto.options?.$unknown?.find((u) => u.no === HTTP_EXTENSION);
  if (!unknown) return null;
  expect(unknown.wireType).toBe(WireType.LengthDelimited);
  return decodeHttpRule(new BinaryReader(unknown.data).bytes());
}

function fieldBehaviors(field: DescField): number[] {
  const behaviors: number[] = [];
  for (const unknown of field.proto.options?.$unknown ?? []) {
    if (unknown.no !== FIELD_BEHAVIOR_EXTENSION) continue;
    const reader = new BinaryReader(unknown.data);
    if (unknown.wireType === WireType.LengthDelimited) {
      const packed = new BinaryReader(reader.bytes());
      while (packed.pos < packed.len) behaviors.push(packed.int32());
    } else behaviors.push(reader.int32());
  }
  return behaviors;
}

/** A field's type: the scalar's name, or the enum's or message's full name. */
function typeOf(field: DescField): string {
  switch (field.fieldKind) {
    case 'scalar':
      return ScalarType[field.scalar];
    case 'enum':
      return `enum ${field.enum.typeName}`;
    case 'message':
      return `message ${field.message.typeName}`;
    case 'list':
      if (field.listKind === 'scalar') return `repeated ${ScalarType[field.scalar]}`;
      if (field.listKind === 'enum') return `repeated enum ${field.enum.typeName}`;
      return `repeated message ${field.message.typeName}`;
    case 'map': {
      const key = ScalarType[field.mapKey];
      if (field.mapKind === 'scalar') return `map<${key}, ${ScalarType[field.scalar]}>`;
      if (field.mapKind === 'enum') return `map<${key}, enum ${field.enum.typeName}>`;
      return `map<${key}, message ${field.message.typeName}>`;
    }
  }
}

/** Everything about a field that shows on the wire (binary or JSON), keyed for a readable diff. */
function fieldShape(field: DescField) {
  return {
    number: field.number,
    name: field.name,
    jsonName: field.jsonName,
    type: typeOf(field),
    optional: field.proto.proto3Optional === true,
    oneof: field.proto.proto3Optional ? undefined : field.oneof?.name,
    behaviors: fieldBehaviors(field),
  };
}

function messageShape(message: DescMessage) {
  return {
    typeName: message.typeName,
    fields: message.fields.map(fieldShape).sort((a, b) => a.number - b.number),
    oneofs: message.oneofs.filter((o) => !o.fields.some((f) => f.proto.proto3Optional)).map((o) => o.name),
  };
}

function enumShape(desc: DescEnum) {
  return { typeName: desc.typeName, values: desc.values.map((v) => ({ name: v.name, number: v.number })) };
}

/** Every message and enum declared in the files, nested ones included, by full name. */
function index(files: DescFile[]) {
  const messages = new Map<string, DescMessage>();
  const enums = new Map<string, DescEnum>();
  const addMessage = (message: DescMessage) => {
    if (message.proto.options?.mapEntry) return;
    messages.set(message.typeName, message);
    message.nestedMessages.forEach(addMessage);
    for (const nested of message.nestedEnums) enums.set(nested.typeName, nested);
  };
  for (const file of files) {
    file.messages.forEach(addMessage);
    for (const desc of file.enums) enums.set(desc.typeName, desc);
  }
  return { messages, enums };
}

/** The messages and enums a method's request and response reach, the well-known types excepted. */
function reachable(method: DescMethod) {
  const messages = new Map<string, DescMessage>();
  const enums = new Map<string, DescEnum>();
  const visit = (message: DescMessage) => {
    if (messages.has(message.typeName) || message.typeName.startsWith('google.protobuf.')) return;
    messages.set(message.typeName, message);
    for (const field of message.fields) {
      if (field.enum) enums.set(field.enum.typeName, field.enum);
      if (field.message) visit(field.message);
    }
  };
  visit(method.input);
  visit(method.output);
  return { messages: [...messages.values()], enums: [...enums.values()] };
}

const theirIndex = index(theirs);
const ourMethods = ours.flatMap((file) =>
  file.services.flatMap((service) => service.methods.map((method) => ({ service, method }))),
);

describe('management API descriptors (management.md: the hosted service’s public interface)', () => {
  it('implements the first wave: 7 organization, 14 user, 18 role and 4 session methods', () => {
    const count = (name: string) => ourMethods.filter(({ service }) => service.typeName === name).length;
    expect(count('scalekit.v1.organizations.OrganizationService')).toBe(7);
    expect(count('scalekit.v1.users.UserService')).toBe(14);
    expect(count('scalekit.v1.roles.RolesService')).toBe(18);
    expect(count('scalekit.v1.sessions.SessionService')).toBe(4);
  });

  it.each(
    ourMethods.map(({ service, method }) => [`${service.name}/${method.name}`, service, method] as const),
  )("our descriptors match the hosted service's for %s", (_label, service, method) => {
    const theirService = theirs.flatMap((f) => f.services).find((s) => s.typeName === service.typeName);
    expect(theirService, `service ${service.typeName}`).toBeDefined();
    const theirMethod = theirService!.methods.find((m) => m.name === method.name);
    expect(theirMethod, `method ${method.name}`).toBeDefined();

    expect({
      kind: method.methodKind,
      input: method.input.typeName,
      output: method.output.typeName,
      http: httpBinding(method),
    }).toEqual({
      kind: theirMethod!.methodKind,
      input: theirMethod!.input.typeName,
      output: theirMethod!.output.typeName,
      http: httpBinding(theirMethod!),
    });
    expect(httpBinding(method)?.path).toMatch(/^\/api\/v1\//);

    const { messages, enums } = reachable(method);
    for (const message of messages) {
      const theirMessage = theirIndex.messages.get(message.typeName);
      expect(theirMessage, `message ${message.typeName}`).toBeDefined();
      expect(messageShape(message)).toEqual(messageShape(theirMessage!));
    }
    for (const desc of enums) {
      const theirEnum = theirIndex.enums.get(desc.typeName);
      expect(theirEnum, `enum ${desc.typeName}`).toBeDefined();
      expect(enumShape(desc)).toEqual(enumShape(theirEnum!));
    }
  });

  it("every message and enum our .proto files declare (ErrorInfo included) matches the hosted service's", () => {
    const ourIndex = index(ours);
    expect(ourIndex.messages.has('scalekit.v1.errdetails.ErrorInfo')).toBe(true);
    for (const [name, message] of ourIndex.messages) {
      const theirMessage = theirIndex.messages.get(name);
      expect(theirMessage, `message ${name}`).toBeDefined();
      expect(messageShape(message)).toEqual(messageShape(theirMessage!));
    }
    for (const [name, desc] of ourIndex.enums) {
      const theirEnum = theirIndex.enums.get(name);
      expect(theirEnum, `enum ${name}`).toBeDefined();
      expect(enumShape(desc)).toEqual(enumShape(theirEnum!));
    }
  });
});
