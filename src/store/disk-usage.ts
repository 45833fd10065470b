/**
 * Where the store learns how full its disk is. Injectable so tests can simulate a nearly full disk
 * without filling one.
 */
import { statfsSync } from 'node:fs';

/** Percentage (0-100) of the disk holding the store that is in use. */
export type DiskUsageSource = () => number;

/** `df`-style usage of the file system holding `path`: used / (used + available to us). */
export function statfsDiskUsage(path: string): DiskUsageSource {
  return () => {
    const stats = statfsSync(path);
    const used = (stats.blocks - stats.bfree) * stats.bsize;
    const available = stats.bavail * stats.bsize;
    const total = used + available;
    return total > 0 ? (used / total) * 100 : 0;
  };
}
