/** Public API of the remoting layer: the TCP server and client for the RocketMQ remoting protocol. */
export { RemotingServer, type RemotingServerOptions } from './remoting-server.js';
export { RemotingClient, parseAddress, type RemotingClientOptions } from './remoting-client.js';
export type { SocketConnection } from './socket-connection.js';
export type { RemotingLogger } from './remoting-logger.js';
