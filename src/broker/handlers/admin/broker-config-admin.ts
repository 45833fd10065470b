/**
 * GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25).
 *
 * GET answers every setting as properties text (`key=value` lines, sorted) and the settings' data
 * version as the `version` header field (DataVersion JSON), as Java does.
 *
 * UPDATE is the remote-code-execution route of CVE-2023-33246 / CVE-2023-37582: on Java brokers an
 * unauthenticated client could set path and program settings (rocketmqHome, configStorePath,
 * filterServerNums, ...) and have the broker run a command. TideMQ therefore accepts only a whitelist
 * of settings that are safe to change while the broker runs and that the request handlers read live;
 * any other key, known or not, is refused with NO_PERMISSION (16) and nothing is changed. Values are
 * parsed with the broker.conf rules (bad values → INVALID_PARAMETER) before anything is applied, so a
 * request is applied whole or not at all. Nothing here is persisted: a restart goes back to broker.conf.
 */
import { ResponseCode, TideError } from '../../../common/errors.js';
import { Limits } from '../../../common/limits.js';
import type { RequestHandler } from '../../../protocol/remoting-command.js';
import { isBrokerConfigKey, parseBrokerConfigValue, type BrokerConfig } from '../../broker-config.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { answer } from '../handler-support.js';
import { fastJsonBody } from './admin-support.js';
import type { AdminState } from './admin-state.js';
import { formatPropertiesText, parsePropertiesText } from './properties-text.js';

/**
 * Settings UPDATE_BROKER_CONFIG may change, each with the range it accepts. Every one is read by the
 * request handlers on each request, so a change takes effect at once. Paths, ports, addresses, names
 * and anything a manager copied at start are deliberately absent.
 */
const RUNTIME_SETTINGS: Readonly<Partial<Record<keyof BrokerConfig, { min?: number; max?: (state: AdminState) => number }>>> = {
  brokerPermission: { min: 0, max: () => 7 },
  // The store sized its buffers for the configured size at start: lowering is safe, raising is not.
  maxMessageSize: { min: 1, max: (state) => Math.min(state.initialMaxMessageSize, Limits.maxMessageSizeBytes) },
  longPollingEnable: {},
  shortPollingTimeMills: { min: 1, max: () => 60_000 },
  maxMsgsNumBatch: { min: 1, max: () => 1024 },
  maxTransferBytesOnMessageInMemory: { min: 1, max: () => 16 * 1024 * 1024 },
  defaultQueryMaxNum: { min: 1, max: () => 65_536 },
  regionId: {},
  traceOn: {},
};

export function runtimeUpdatableSettings(): string[] {
  return Object.keys(RUNTIME_SETTINGS).sort();
}

export function createGetBrokerConfigHandler(deps: BrokerDeps, state: AdminState): RequestHandler {
  return (request) => {
    const config = deps.config as unknown as Record<string, string | number | boolean | undefined>;
    const keys = Object.keys(config).filter(isBrokerConfigKey).sort();
    const text = formatPropertiesText(keys.map((key) => [key, config[key]]));
    const version = fastJsonBody(state.configVersion).toString('utf8');
    return answer(request, ResponseCode.SUCCESS, undefined, { version }, Buffer.from(text, 'utf8'));
  };
}

export function createUpdateBrokerConfigHandler(deps: BrokerDeps, state: AdminState): RequestHandler {
  return (request, context) => {
    if (!request.body || request.body.length === 0) return answer(request);
    const properties = parsePropertiesText(request.body.toString('utf8'));
    const refused = [...properties.keys()].filter((key) => !Object.prototype.hasOwnProperty.call(RUNTIME_SETTINGS, key));
    if (refused.length > 0) {
      deps.logger.warn({ refused: refused.slice(0, 20), remoteAddress: context.connection.remoteAddress }, 'UPDATE_BROKER_CONFIG refused');
      const shown = refused.slice(0, 10).map((key) => key.slice(0, 64)).join(', ');
      return answer(
        request,
        ResponseCode.NO_PERMISSION,
        `Can not update config: ${shown} ${refused.length === 1 ? 'is' : 'are'} not in the whitelist of settings that may change at run time (${runtimeUpdatableSettings().join(', ')})`,
      );
    }
    const updates: Array<[keyof BrokerConfig, string | number | boolean]> = [];
    for (const [key, raw] of properties) {
      const name = key as keyof BrokerConfig;
      const value = parseBrokerConfigValue(name, raw);
      const range = RUNTIME_SETTINGS[name]!;
      if (typeof value === 'number') {
        const max = range.max?.(state) ?? Number.MAX_SAFE_INTEGER;
        if (value < (range.min ?? Number.MIN_SAFE_INTEGER) || value > max) {
          throw new TideError('INVALID_PARAMETER', `broker setting ${key}=${value} must be ${range.min ?? '-∞'}-${max}`);
        }
      }
      updates.push([name, value]);
    }
    const config = deps.config as unknown as Record<string, unknown>;
    for (const [key, value] of updates) config[key] = value;
    state.bumpConfigVersion();
    deps.logger.info({ updates: Object.fromEntries(updates), remoteAddress: context.connection.remoteAddress }, 'broker settings updated by admin request');
    return answer(request);
  };
}
