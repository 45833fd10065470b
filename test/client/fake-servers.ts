/**
 * Tiny stand-ins for misbehaving peers: a name server (our RemotingServer) whose routes point at a
 * fake broker, and a fake broker on a raw node:net server that answers with garbage, closes in the
 * middle of a frame, never answers, or answers properly with a chosen send status. The mode can be
 * changed between calls, and the broker can be stopped and started again on the same port.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ResponseCode } from '../../src/common/errors.js';
import { FrameDecoder, decodeCommand, encodeCommand } from '../../src/protocol/remoting-codec.js';
import { createResponse, type RemotingCommand } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { encodeTopicRouteData } from '../../src/protocol/route-data.js';
import { RemotingServer } from '../../src/remoting/remoting-server.js';

export type FakeBrokerMode = 'ok' | 'garbage' | 'close-mid-frame' | 'silent';

export const FAKE_BROKER_NAME = 'fake-broker';

export class FakeBroker {
  mode: FakeBrokerMode = 'ok';
  /** Response code for sends in `ok` mode (0, or 10/11/12 for the not-stored-as-promised statuses). */
  sendCode: number = ResponseCode.SUCCESS;
  requests = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (const frame of decoder.frames()) this.answer(socket, decodeCommand(frame));
    });
  }

  private answer(socket: Socket, request: RemotingCommand): void {
    this.requests++;
    switch (this.mode) {
      case 'silent':
        return;
      case 'garbage':
        // A length the framing accepts, then a header that is not JSON.
        socket.write(Buffer.concat([Buffer.from([0, 0, 0, 12, 0, 0, 0, 8]), Buffer.from('not json')]));
        return;
      case 'close-mid-frame': {
        const full = encodeCommand(createResponse(request, ResponseCode.SUCCESS, undefined, { msgId: 'X', queueId: '0', queueOffset: '0' }));
        socket.end(full.subarray(0, Math.floor(full.length / 2)));
        socket.destroySoon();
        return;
      }
      case 'ok':
        socket.write(encodeCommand(this.okAnswer(request)));
    }
  }

  private okAnswer(request: RemotingCommand): RemotingCommand {
    switch (request.code) {
      case RequestCode.SEND_MESSAGE_V2:
      case RequestCode.SEND_MESSAGE:
        return createResponse(request, this.sendCode, this.sendCode === 0 ? undefined : 'not stored as promised', {
          msgId: '7F00000100002A9F0000000000000000',
          queueId: request.extFields?.e ?? '0',
          queueOffset: String(this.requests),
        });
      case RequestCode.GET_MAX_OFFSET:
        return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: '42' });
      default:
        return createResponse(request, ResponseCode.SUCCESS);
    }
  }
}

/** A name server whose every route is `queueNums` queues on the fake broker. */
export async function startFakeNameServer(brokerAddress: () => string, queueNums = 2): Promise<{ address: string; close(): Promise<void> }> {
  const server = new RemotingServer({
    handlers: new Map([
      [
        RequestCode.GET_ROUTEINFO_BY_TOPIC,
        (request: RemotingCommand) =>
          createResponse(request, ResponseCode.SUCCESS, undefined, undefined, encodeTopicRouteData({
            queueDatas: [{ brokerName: FAKE_BROKER_NAME, readQueueNums: queueNums, writeQueueNums: queueNums, perm: 6, topicSysFlag: 0 }],
            brokerDatas: [{ cluster: 'FakeCluster', brokerName: FAKE_BROKER_NAME, brokerAddrs: { '0': brokerAddress() }, enableActingMaster: false }],
            filterServerTable: {},
          })),
      ],
    ]),
  });
  const port = await server.listen(0, '127.0.0.1');
  return { address: `127.0.0.1:${port}`, close: () => server.close() };
}
