// Enforces: prompt holds only none, login, create, select_account, each once, and `none` alone.
import { invalidRequest } from '../errors.ts';
import { optionalParam } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';

const prompts = ['none', 'login', 'create', 'select_account'] as const;
type Prompt = (typeof prompts)[number];

/** @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest */
export const checkPrompt: AuthorizeCheck = ({ params }, request) => {
  const raw = optionalParam(params, 'prompt', 100);
  const values = raw === null ? [] : raw.split(' ').filter((v) => v.length > 0);
  for (const value of values) {
    if (!(prompts as readonly string[]).includes(value))
      throw invalidRequest(`Unsupported prompt value: ${value}`);
  }
  if (new Set(values).size !== values.length) throw invalidRequest('A prompt value was repeated');
  if (values.includes('none') && values.length > 1) {
    throw invalidRequest('prompt=none cannot be combined with other values');
  }
  request.prompt = values as Prompt[];
};
