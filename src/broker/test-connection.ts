/**
 * An in-memory RemotingConnection for unit tests of the managers: it records what the broker pushes
 * (oneway requests) and can be closed. Not used by production code.
 */
import type { RemotingCommand, RemotingConnection } from '../protocol/remoting-command.js';

let nextId = 1_000_000;

export class RecordingConnection implements RemotingConnection {
  readonly id = nextId++;
  readonly onewayRequests: RemotingCommand[] = [];
  closed = false;
  private readonly closeListeners: Array<() => void> = [];

  constructor(readonly remoteAddress = '127.0.0.1:50000', readonly localAddress = '127.0.0.1:10911') {}

  invoke(): Promise<RemotingCommand> {
    return Promise.reject(new Error('not supported by the recording connection'));
  }

  invokeOneway(request: RemotingCommand): boolean {
    if (this.closed) return false;
    this.onewayRequests.push(request);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners) listener();
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }
}
