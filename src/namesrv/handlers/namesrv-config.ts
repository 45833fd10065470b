/**
 * Name server settings over the wire: GET_NAMESRV_CONFIG (319) and UPDATE_NAMESRV_CONFIG (318),
 * both as Java properties text in the body. Updates are limited to a whitelist (CVE-2023-37582;
 * see namesrv-settings.ts).
 */
import { TideError } from '../../common/errors.js';
import type { RemotingCommand, RequestContext, RequestHandler } from '../../protocol/remoting-command.js';
import type { NamesrvContext } from '../namesrv-context.js';
import { parsePropertiesText } from '../namesrv-settings.js';
import { success } from './request-fields.js';

export function getNamesrvConfig(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => success(request, undefined, Buffer.from(context.settings.toPropertiesText(), 'utf8'));
}

export function updateNamesrvConfig(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand, requestContext: RequestContext) => {
    const body = request.body;
    if (body === undefined || body.length === 0) return success(request);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new TideError('INVALID_PARAMETER', 'the UPDATE_NAMESRV_CONFIG body is not UTF-8 properties text');
    }
    const properties = parsePropertiesText(text);
    context.settings.update(properties);
    context.logger.info({ keys: [...properties.keys()], client: requestContext.connection.remoteAddress }, 'name server settings updated');
    return success(request);
  };
}
