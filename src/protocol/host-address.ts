/**
 * A host as it is stored in commit-log records and message ids: 4 (IPv4) or 16 (IPv6) address bytes
 * plus an int32 port. Parsed once and kept as bytes so the append path only copies.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface HostAddress {
  /** 4 or 16 bytes. */
  readonly ip: Buffer;
  readonly port: number;
}

export function parseHostAddress(address: string, port: number): HostAddress {
  let host = address;
  if (host.startsWith('::ffff:') && isIPv4(host.slice(7))) host = host.slice(7);
  if (isIPv4(host)) {
    return { ip: Buffer.from(host.split('.').map((part) => Number(part))), port };
  }
  if (isIPv6(host)) return { ip: ipv6ToBytes(host), port };
  throw new Error(`not an IP address: ${address}`);
}

/** Parses `host:port` or `[v6]:port`. */
export function parseHostPort(value: string): HostAddress {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) throw new Error(`not host:port: ${value}`);
  let host = value.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(value.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port in ${value}`);
  return parseHostAddress(host, port);
}

export function hostAddressToString(host: HostAddress): string {
  if (host.ip.length === 4) return `${host.ip[0]}.${host.ip[1]}.${host.ip[2]}.${host.ip[3]}:${host.port}`;
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) groups.push(host.ip.readUInt16BE(index).toString(16));
  return `[${groups.join(':')}]:${host.port}`;
}

function ipv6ToBytes(address: string): Buffer {
  const bytes = Buffer.alloc(16);
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const parts = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((parts[0]! << 8) | parts[1]!).toString(16)}:${((parts[2]! << 8) | parts[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined
    ? headGroups
    : [...headGroups, ...new Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  for (let index = 0; index < 8; index++) bytes.writeUInt16BE(parseInt(groups[index] ?? '0', 16), index * 2);
  return bytes;
}
