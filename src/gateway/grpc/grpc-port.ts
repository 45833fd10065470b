/** The gRPC endpoint's default port (RocketMQ's proxy uses 8081); its own file so that naming it loads no gRPC code. */
export const DEFAULT_GRPC_PORT = 8081;
