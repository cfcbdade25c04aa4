import { readFileSync } from 'node:fs';
import type { Config } from './config.ts';
import { type ConfigInput, configSchema, type SettingName, settings } from './schema.ts';

/** Thrown when a setting is missing or wrong; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigInput {
  /** The process environment (or a test's stand-in). */
  env: Record<string, string | undefined>;
  /** Values that win over the environment (command-line flags). */
  overrides?: Partial<Record<SettingName, string | number | boolean>>;
  now?: () => Date;
}

/**
 * Builds the configuration from flags, then the environment, then the optional JSON config file
 * named by `SESAME_CONFIG`, then defaults. Fails with a `ConfigError` naming the variable.
 */
export function loadConfig({ env, overrides = {}, now = () => new Date() }: LoadConfigInput): Config {
  const fromFile = readConfigFile(env['SESAME_CONFIG']);
  const input: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings) as Array<
    [SettingName, (typeof settings)[SettingName]]
  >) {
    const override = overrides[name];
    const fromEnv = env[setting.env];
    if (override !== undefined) input[name] = override;
    else if (fromEnv !== undefined && fromEnv !== '') input[name] = fromEnv;
    else if (fromFile[name] !== undefined) input[name] = fromFile[name];
  }
  const parsed = configSchema.safeParse(input as ConfigInput);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = issue.path[0] as SettingName | undefined;
      const variable = name && name in settings ? settings[name].env : String(issue.path.join('.'));
      const missing = name !== undefined && input[name] === undefined;
      return missing
        ? `${variable} is required (${name ? settings[name].doc : ''})`
        : `${variable} ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  if (config.sessionAbsoluteTimeout < config.sessionIdleTimeout) {
    throw new ConfigError(
      `${settings.sessionAbsoluteTimeout.env} must not be shorter than ${settings.sessionIdleTimeout.env}`,
    );
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError(
      `${settings.tlsCert.env} and ${settings.tlsKey.env} are set together or not at all`,
    );
  }
  const issuerUrl = new URL(config.envUrl);
  return {
    ...config,
    issuerUrl,
    secureCookies: issuerUrl.protocol === 'https:',
    now,
    codeTtl: 600,
    interactionTtl: 1800,
    refreshGrace: 30,
    clockTolerance: 15,
  };
}

function readConfigFile(path: string | undefined): Partial<Record<SettingName, unknown>> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`SESAME_CONFIG names ${path}, which cannot be read: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`SESAME_CONFIG file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`SESAME_CONFIG file ${path} must hold a JSON object`);
  }
  const unknown = Object.keys(data).filter((key) => !(key in settings));
  if (unknown.length > 0) {
    throw new ConfigError(`SESAME_CONFIG file ${path} has unknown settings: ${unknown.join(', ')}`);
  }
  return data as Partial<Record<SettingName, unknown>>;
}
