// Prints, as JSON, the public interface of the hosted service's management API as the official
// `@scalekit-sdk/node` ships it: services, methods with their HTTP bindings, messages and enums of
// the packages Sesame implements. The SDK embeds protoc-gen-es descriptors but stubs out
// `google/api/annotations.proto`, so `google.api.http` survives only as an unknown option field;
// we decode it here by hand. Usage: `node scripts/dump-scalekit-descriptors.mjs > out.json`.
import { createRequire } from 'node:module';
import { ScalarType } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

const require = createRequire(import.meta.url);
const sdkRoot = '@scalekit-sdk/node/lib/pkg/grpc/scalekit/v1';

/** The SDK's packages we dump: ours to implement, plus the shared messages they use. */
const PACKAGES = ['organizations', 'users', 'roles', 'sessions', 'commons', 'errdetails', 'options'];

/** `google.api.http` (MethodOptions extension) and `google.api.field_behavior` (FieldOptions). */
const HTTP_EXTENSION = 72295728;
const FIELD_BEHAVIOR_EXTENSION = 1052;
/** `scalekit.v1.options.auth_option` (MethodOptions extension). */
const AUTH_OPTION_EXTENSION = 50000;
/** `buf.validate.field` (FieldOptions extension): the hosted service's input constraints. */
const VALIDATE_EXTENSION = 1159;

/**
 * Field names of the `buf.validate` rule messages we meet, by field number: a string names a
 * scalar, a pair names a sub-message. Enough to read the constraints, not a full decoder.
 */
const NUMBER_RULES = { 1: 'const', 2: 'lt', 3: 'lte', 4: 'gt', 5: 'gte', 6: 'in', 7: 'not_in' };
const VALIDATE_SCHEMA = {
  FieldRules: {
    1: ['float', 'NumberRules'],
    2: ['double', 'NumberRules'],
    3: ['int32', 'NumberRules'],
    4: ['int64', 'NumberRules'],
    5: ['uint32', 'NumberRules'],
    6: ['uint64', 'NumberRules'],
    14: ['string', 'StringRules'],
    16: ['enum', 'EnumRules'],
    18: ['repeated', 'RepeatedRules'],
    19: ['map', 'MapRules'],
    23: ['cel', 'Rule'],
    25: 'required',
    27: 'ignore',
  },
  NumberRules: NUMBER_RULES,
  StringRules: {
    1: 'const',
    19: 'len',
    2: 'min_len',
    3: 'max_len',
    6: 'pattern',
    7: 'prefix',
    8: 'suffix',
    9: 'contains',
    10: 'in',
    11: 'not_in',
    12: 'email',
    13: 'hostname',
    17: 'uri',
    22: 'uuid',
  },
  EnumRules: { 1: 'const', 2: 'defined_only', 3: 'in', 4: 'not_in' },
  RepeatedRules: { 1: 'min_items', 2: 'max_items', 3: 'unique', 4: ['items', 'FieldRules'] },
  MapRules: { 1: 'min_pairs', 2: 'max_pairs', 4: ['keys', 'FieldRules'], 5: ['values', 'FieldRules'] },
  Rule: { 1: 'id', 2: 'message', 3: 'expression' },
};
const REPEATED_RULES = new Set(['in', 'not_in', 'cel']);

function decodeRules(bytes, schemaName) {
  const schema = VALIDATE_SCHEMA[schemaName];
  const reader = new BinaryReader(bytes);
  const out = {};
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    const entry = schema[no];
    const name = Array.isArray(entry) ? entry[0] : (entry ?? `#${no}`);
    let value;
    if (Array.isArray(entry)) value = decodeRules(reader.bytes(), entry[1]);
    else if (wireType === WireType.Varint) value = Number(reader.uint64());
    else if (wireType === WireType.LengthDelimited) value = reader.string();
    else {
      reader.skip(wireType);
      continue;
    }
    out[name] = REPEATED_RULES.has(name) ? [...(out[name] ?? []), value] : value;
  }
  return out;
}

function validateRules(field) {
  const [value] = unknownValues(field.proto.options, VALIDATE_EXTENSION);
  return value ? decodeRules(value.reader.bytes(), 'FieldRules') : undefined;
}

const FIELD_BEHAVIORS = [
  'FIELD_BEHAVIOR_UNSPECIFIED',
  'OPTIONAL',
  'REQUIRED',
  'OUTPUT_ONLY',
  'INPUT_ONLY',
  'IMMUTABLE',
  'UNORDERED_LIST',
  'NON_EMPTY_DEFAULT',
  'IDENTIFIER',
];

/**
 * The raw value of an unknown length-delimited option field. protobuf-es keeps, for an unknown
 * field, the bytes after the tag: for wire type 2 that is the length varint followed by the value.
 */
function unknownValues(options, fieldNo) {
  return (options?.$unknown ?? [])
    .filter((u) => u.no === fieldNo)
    .map((u) => ({ wireType: u.wireType, reader: new BinaryReader(u.data) }));
}

/** Decodes a `google.api.HttpRule` (fields get=2 put=3 post=4 delete=5 patch=6 custom=8 body=7 …). */
function decodeHttpRule(bytes) {
  const reader = new BinaryReader(bytes);
  const rule = { method: '', path: '', body: '', responseBody: '', additionalBindings: [] };
  const verbs = { 2: 'GET', 3: 'PUT', 4: 'POST', 5: 'DELETE', 6: 'PATCH' };
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (no in verbs) {
      rule.method = verbs[no];
      rule.path = reader.string();
    } else if (no === 8) {
      const custom = new BinaryReader(reader.bytes());
      while (custom.pos < custom.len) {
        const [cno, cwt] = custom.tag();
        if (cno === 1) rule.method = custom.string();
        else if (cno === 2) rule.path = custom.string();
        else custom.skip(cwt);
      }
    } else if (no === 7) rule.body = reader.string();
    else if (no === 12) rule.responseBody = reader.string();
    else if (no === 11) rule.additionalBindings.push(decodeHttpRule(reader.bytes()));
    else reader.skip(wireType);
  }
  return rule;
}

/** The HTTP binding of a method, or null when it has none. */
function httpBinding(method) {
  const [value] = unknownValues(method.proto.options, HTTP_EXTENSION);
  if (!value) return null;
  if (value.wireType !== WireType.LengthDelimited) throw new Error(`${method.name}: bad google.api.http`);
  return decodeHttpRule(value.reader.bytes());
}

function authOption(method) {
  const [value] = unknownValues(method.proto.options, AUTH_OPTION_EXTENSION);
  if (!value) return undefined;
  const { AuthOptionSchema, AuthenticationType, Policy } = require(`${sdkRoot}/options/options_pb.js`);
  const { fromBinary } = require('@bufbuild/protobuf');
  const option = fromBinary(AuthOptionSchema, value.reader.bytes());
  return {
    authenticationType: AuthenticationType[option.authenticationType] ?? option.authenticationType,
    permissions: option.permissions,
    policy: Policy[option.policy] ?? option.policy,
  };
}

function fieldBehaviors(field) {
  const behaviors = [];
  for (const { wireType, reader } of unknownValues(field.proto.options, FIELD_BEHAVIOR_EXTENSION)) {
    if (wireType === WireType.LengthDelimited) {
      const packed = new BinaryReader(reader.bytes());
      while (packed.pos < packed.len) behaviors.push(FIELD_BEHAVIORS[packed.int32()]);
    } else behaviors.push(FIELD_BEHAVIORS[reader.int32()]);
  }
  return behaviors;
}

/** A field's type as a short string: a scalar name, `enum <full name>` or `message <full name>`. */
function typeOf(field) {
  switch (field.fieldKind) {
    case 'scalar':
      return ScalarType[field.scalar].toLowerCase();
    case 'enum':
      return `enum ${field.enum.typeName}`;
    case 'message':
      return `message ${field.message.typeName}`;
    case 'list':
      if (field.listKind === 'scalar') return ScalarType[field.scalar].toLowerCase();
      return `${field.listKind} ${field.listKind === 'enum' ? field.enum.typeName : field.message.typeName}`;
    case 'map': {
      const value =
        field.mapKind === 'scalar'
          ? ScalarType[field.scalar].toLowerCase()
          : `${field.mapKind} ${field.mapKind === 'enum' ? field.enum.typeName : field.message.typeName}`;
      return `map<${ScalarType[field.mapKey].toLowerCase()}, ${value}>`;
    }
  }
  throw new Error(`unknown field kind ${field.fieldKind}`);
}

function dumpField(field) {
  const out = { name: field.name, number: field.number, type: typeOf(field) };
  if (field.fieldKind === 'list') out.repeated = true;
  if (field.fieldKind === 'map') out.map = true;
  if (field.oneof && !field.proto.proto3Optional) out.oneof = field.oneof.name;
  if (field.proto.proto3Optional) out.optional = true;
  const behaviors = fieldBehaviors(field);
  if (behaviors.length > 0) out.behaviors = behaviors;
  const rules = validateRules(field);
  if (rules) out.validate = rules;
  return out;
}

function dumpMessage(message) {
  return {
    name: message.typeName,
    fields: message.fields.map(dumpField),
    nestedMessages: message.nestedMessages.filter((m) => !m.proto.options?.mapEntry).map(dumpMessage),
    nestedEnums: message.nestedEnums.map(dumpEnum),
  };
}

function dumpEnum(desc) {
  return { name: desc.typeName, values: desc.values.map((v) => ({ name: v.name, number: v.number })) };
}

function dumpFile(file) {
  return {
    file: `${file.name}.proto`,
    dependencies: file.dependencies.map((d) => `${d.name}.proto`),
    services: file.services.map((service) => ({
      name: service.typeName,
      methods: service.methods.map((method) => ({
        name: method.name,
        path: `/${service.typeName}/${method.name}`,
        kind: method.methodKind,
        input: method.input.typeName,
        output: method.output.typeName,
        http: httpBinding(method),
        auth: authOption(method),
      })),
    })),
    messages: file.messages.map(dumpMessage),
    enums: file.enums.map(dumpEnum),
  };
}

/** Which methods the SDK's high-level clients call, per generated client property. */
function methodsCalledBySdk() {
  const { readFileSync } = require('node:fs');
  const lib = require.resolve('@scalekit-sdk/node').replace(/index\.js$/, '');
  const called = new Set();
  for (const file of ['organization', 'user', 'role', 'permission', 'session']) {
    const source = readFileSync(`${lib}${file}.js`, 'utf8');
    for (const match of source.matchAll(/this\.client\.(\w+)\b/g)) called.add(match[1]);
  }
  return [...called].sort();
}

const version = require('@scalekit-sdk/node/package.json').version;
const files = PACKAGES.map((pkg) => {
  const module = require(`${sdkRoot}/${pkg}/${pkg}_pb.js`);
  return dumpFile(module[`file_scalekit_v1_${pkg}_${pkg}`]);
});
console.log(
  JSON.stringify({ sdk: `@scalekit-sdk/node@${version}`, calledBySdk: methodsCalledBySdk(), files }, null, 2),
);
