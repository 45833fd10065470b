/** Public API of the gateways (gRPC today; HTTP and MQTT live beside it). */
export { GrpcGateway, DEFAULT_GRPC_PORT, type GrpcGatewayOptions, type PopPort } from './grpc/index.js';
export { LazyGrpcGateway } from './lazy-grpc-gateway.js';
