/** Public API of the gRPC gateway (RocketMQ 5.x MessagingService). */
export { GrpcGateway, DEFAULT_GRPC_PORT, type GrpcGatewayOptions } from './grpc-gateway.js';
export type { PopPort } from './receipt-renewer.js';
export { Code } from './code.js';
