// Enforces: state, when sent, is sent once and is of a sane length; it is echoed back verbatim.
import { optionalParam } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';

/** @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 */
export const checkState: AuthorizeCheck = ({ params }, request) => {
  request.state = optionalParam(params, 'state', 2048);
};
