/**
 * Describes the machine a benchmark runs on: CPU, cores, memory, Node, kernel and the disk behind
 * the benchmark's directory. Every benchmark prints it first, because numbers without the machine
 * they came from cannot be compared.
 */
import { readFileSync, realpathSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { basename } from 'node:path';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  disk: {
    directory: string;
    mountPoint: string;
    fileSystem: string;
    device: string;
    rotational: boolean | null;
    sizeGiB: number;
    freeGiB: number;
  };
}

interface Mount {
  mountPoint: string;
  fileSystem: string;
  device: string;
}

/** The mount holding `path`: the longest mount point that is a prefix of it (from /proc/self/mountinfo). */
function findMount(path: string): Mount {
  let best: Mount = { mountPoint: '/', fileSystem: 'unknown', device: 'unknown' };
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return best;
  }
  for (const line of text.split('\n')) {
    // Fields: id parent major:minor root mountPoint options [optional...] - fsType source superOptions
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const mountPoint = left.split(' ')[4]!.replace(/\\040/g, ' ');
    const [fileSystem, device] = right.split(' ');
    const isPrefix = path === mountPoint || path.startsWith(mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`);
    if (isPrefix && mountPoint.length >= best.mountPoint.length) best = { mountPoint, fileSystem: fileSystem ?? 'unknown', device: device ?? 'unknown' };
  }
  return best;
}

function isRotational(device: string): boolean | null {
  const name = basename(device).replace(/p?\d+$/, '');
  for (const candidate of [basename(device), name]) {
    try {
      return readFileSync(`/sys/block/${candidate}/queue/rotational`, 'utf8').trim() === '1';
    } catch {
      // Try the next name (partitions have no queue/ of their own).
    }
  }
  return null;
}

export function describeMachine(directory: string): MachineInfo {
  const cpus = os.cpus();
  const realDirectory = realpathSync(directory);
  const mount = findMount(realDirectory);
  const stats = statfsSync(realDirectory);
  const gib = 1024 ** 3;
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / gib) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    disk: {
      directory: realDirectory,
      mountPoint: mount.mountPoint,
      fileSystem: mount.fileSystem,
      device: mount.device,
      rotational: isRotational(mount.device),
      sizeGiB: Math.round(((stats.blocks * stats.bsize) / gib) * 10) / 10,
      freeGiB: Math.round(((stats.bavail * stats.bsize) / gib) * 10) / 10,
    },
  };
}

export function formatMachine(info: MachineInfo): string {
  const disk = info.disk;
  const kind = disk.rotational === null ? '' : disk.rotational ? ', rotational' : ', non-rotational';
  return [
    `machine: ${info.cpuModel}, ${info.cores} cores, ${info.memoryGiB} GiB RAM`,
    `node:    ${info.node} on ${info.kernel}`,
    `disk:    ${disk.directory} on ${disk.device} (${disk.fileSystem} at ${disk.mountPoint}${kind}), ${disk.freeGiB} of ${disk.sizeGiB} GiB free`,
  ].join('\n');
}
