import { statSync } from "node:fs";

/**
 * Device, inode, mode, size, mtime and ctime of a file, or undefined when it cannot be stat'ed:
 * an edited file, or one replaced by a rename (as bakeplan writes), gets a new stamp.
 */
export function fileStamp(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.mode}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}
