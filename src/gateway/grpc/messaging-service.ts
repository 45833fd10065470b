/**
 * Loads `apache.rocketmq.v2.MessagingService` from the .proto files vendored under `<repo>/proto`
 * (Apache-2.0 data files from rocketmq-apis, as shipped in rocketmq-client-nodejs). Decoding options,
 * chosen once for the whole gateway:
 * - keepCase: field names stay snake_case as in the .proto files (`system_properties`, `message_id`);
 * - longs as Number: offsets and timestamps fit in 2^53;
 * - enums as Number: compared with the as-const tables in `code.ts` / `proto-types.ts`;
 * - defaults: scalars and repeated fields are filled in, unset message fields are null, unset proto3
 *   `optional` fields stay undefined (so presence can be tested);
 * - oneofs: the set member's name is put in a virtual field (`command`, `pub_sub`, `content`, `strategy`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/** The loader options every (de)serializer of the gateway uses. */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: Number,
  defaults: true,
  oneofs: true,
};

export const MESSAGING_SERVICE_NAME = 'apache.rocketmq.v2.MessagingService';

/** `<repo>/proto`: four levels above dist/src/gateway/grpc (and above src/gateway/grpc). */
export function defaultProtoDir(): string {
  const besideBuild = fileURLToPath(new URL('../../../../proto', import.meta.url));
  if (existsSync(join(besideBuild, 'apache/rocketmq/v2/service.proto'))) return besideBuild;
  const besideSource = fileURLToPath(new URL('../../../proto', import.meta.url));
  if (existsSync(join(besideSource, 'apache/rocketmq/v2/service.proto'))) return besideSource;
  return join(process.cwd(), 'proto');
}

let cached: { dir: string; service: ServiceDefinition } | undefined;

/** The service definition for `server.addService`; loaded once per proto directory. */
export function loadMessagingService(protoDir: string = defaultProtoDir()): ServiceDefinition {
  if (cached && cached.dir === protoDir) return cached.service;
  const definition = loadSync(['apache/rocketmq/v2/service.proto'], { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir] });
  const service = definition[MESSAGING_SERVICE_NAME];
  if (service === undefined || !('QueryRoute' in service)) {
    throw new Error(`${MESSAGING_SERVICE_NAME} not found in ${protoDir}/apache/rocketmq/v2/service.proto`);
  }
  cached = { dir: protoDir, service: service as unknown as ServiceDefinition };
  return cached.service;
}
