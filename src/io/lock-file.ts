import { lstatSync, type Stats } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { LOCK_FILE, parseLock, serializeLock, type Lock } from "../images/lock.js";
import { displayPath } from "./project-files.js";
import { decodeInput, InputBudget, readInputBytes } from "./read-input.js";
import { atomicWrite } from "./write-plan.js";

/** bakeplan.lock.json next to context.yaml. */
export function lockPath(projectDir: string): string {
  return join(projectDir, LOCK_FILE);
}

/** The lock's text: read as every input is (a regular file, within the input budget, exact UTF-8); undefined when there is none. */
function lockText(abs: string): string | undefined {
  const buf = readInputBytes(abs, displayPath(abs), "image lock", InputBudget.fromEnvironment(), {
    missing: "undefined",
  });
  return buf === undefined ? undefined : decodeInput(buf, displayPath(abs));
}

export function readLock(projectDir: string): Lock | undefined {
  const abs = lockPath(projectDir);
  const text = lockText(abs);
  return text === undefined ? undefined : parseLock(text, displayPath(abs));
}

/**
 * Before `bakeplan lock` resolves anything: the lock it will replace is a regular file (a link is
 * replaced, not followed, so it is refused like any file bakeplan did not write; a pipe is never read).
 */
export function checkLockWritable(projectDir: string): void {
  const abs = lockPath(projectDir);
  let st: Stats;
  try {
    st = lstatSync(abs);
  } catch {
    return;
  }
  if (!st.isFile())
    throw new UserError(
      `${displayPath(abs)}: is ${st.isSymbolicLink() ? "a link" : st.isDirectory() ? "a directory" : "not a regular file"}; bakeplan writes the image lock only over a lock it wrote. Remove it and run \`bakeplan lock\` again`,
    );
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
  checkLockWritable(projectDir);
  if (lockText(abs) === text) return false;
  atomicWrite(abs, text);
  return true;
}
