import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { LOCK_FILE, parseLock, serializeLock, type Lock } from "../images/lock.js";
import { displayPath } from "./project-files.js";
import { atomicWrite } from "./write-plan.js";

/** bakeplan.lock.json next to context.yaml. */
export function lockPath(projectDir: string): string {
  return join(projectDir, LOCK_FILE);
}

export function readLock(projectDir: string): Lock | undefined {
  const abs = lockPath(projectDir);
  if (!existsSync(abs)) return undefined;
  return parseLock(readFileSync(abs, "utf8"), displayPath(abs));
}

/** The lock a locked plan needs: missing is an error that says how to make it. */
export function requireLock(projectDir: string, why: string): Lock {
  const lock = readLock(projectDir);
  if (!lock)
    throw new UserError(
      `${displayPath(lockPath(projectDir))} not found (${why}); run \`bakeplan lock\` to resolve the images and write it`,
    );
  return lock;
}

/** Writes the lock atomically; true when its bytes changed. */
export function writeLock(projectDir: string, lock: Lock): boolean {
  const abs = lockPath(projectDir);
  const text = serializeLock(lock);
  if (existsSync(abs) && readFileSync(abs, "utf8") === text) return false;
  atomicWrite(abs, text);
  return true;
}
