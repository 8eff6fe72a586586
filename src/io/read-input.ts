// Every file bakeplan reads as input (context.yaml, templates, files already in the output
// directory) is read here: only regular files (a named pipe would block the read forever, a
// device like /dev/zero never ends), within a byte budget, and as UTF-8 that decodes exactly.
// Only node: built-ins are imported, so the up-to-date path can use it too.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { isUtf8 } from "node:buffer";
import { ENVIRONMENT, UserError } from "../errors.js";

/** The environment variable that raises the input budget. */
export const INPUT_CAP_VARIABLE = "BAKEPLAN_MAX_INPUT_BYTES";
/** 128 MiB: a context.yaml of 100,000 labels is 12 MB; Dynamo's whole build directory is far below 1 MB. */
export const DEFAULT_INPUT_CAP = 128 * 1024 * 1024;

/** How many bytes all inputs of one run may take together. */
export class InputBudget {
  private used = 0;
  constructor(readonly cap: number) {}

  /** The budget of this process: BAKEPLAN_MAX_INPUT_BYTES, or the default. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): InputBudget {
    const raw = env[INPUT_CAP_VARIABLE];
    if (raw === undefined || raw === "") return new InputBudget(DEFAULT_INPUT_CAP);
    if (!/^[1-9][0-9]{0,15}$/.test(raw))
      throw new UserError(`expected a positive whole number of bytes, e.g. ${DEFAULT_INPUT_CAP * 2}`, {
        location: { file: ENVIRONMENT, path: INPUT_CAP_VARIABLE },
      });
    return new InputBudget(Number(raw));
  }

  get left(): number {
    return this.cap - this.used;
  }

  take(bytes: number): void {
    this.used += bytes;
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return "a named pipe";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

function tooLarge(label: string, what: string, size: number | undefined, budget: InputBudget): UserError {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
  return new UserError(
    `${label}: the ${what} ${size !== undefined ? `is ${mb(size)}, ` : ""}more than bakeplan reads (${mb(budget.cap)} for all inputs of one run); set ${INPUT_CAP_VARIABLE} to a larger number of bytes if it is meant to be that large`,
  );
}

/**
 * The bytes of a regular file (links followed), or undefined when there is none. Refuses a
 * directory, a pipe, a device or a socket without reading from it, and a file past the budget
 * before reading it all.
 */
export function readInputBytes(
  abs: string,
  label: string,
  what: string,
  budget: InputBudget,
  opts: { missing?: "undefined" | "error"; maxBytes?: number } = {},
): Buffer | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: opening a named pipe without a writer would otherwise wait for one.
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && opts.missing === "undefined") return undefined;
    if (code === "ENOENT" || code === "ENOTDIR") throw new UserError(`${label}: ${what} not found`);
    if (code === "EACCES" || code === "EPERM")
      throw new UserError(`${label}: cannot read the ${what} (permission denied)`);
    throw new UserError(`${label}: cannot read the ${what} (${code ?? String(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new UserError(`${label}: ${what} is a directory`);
    if (!st.isFile())
      throw new UserError(
        `${label}: the ${what} is ${kindOf(st)}, not a regular file; bakeplan reads its inputs from regular files only`,
      );
    const limit = Math.min(opts.maxBytes ?? Infinity, budget.left);
    if (opts.maxBytes === undefined && st.size > limit) throw tooLarge(label, what, st.size, budget);
    // One byte more than allowed: a file that grew since fstat is caught too.
    const want = Math.min(st.size, limit) + 1;
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, want - got, null);
      if (n === 0) break;
      got += n;
      if (got === want) break;
    }
    if (got > limit) {
      if (opts.maxBytes === undefined) throw tooLarge(label, what, undefined, budget);
      got = limit;
    }
    budget.take(got);
    return buf.subarray(0, got);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${label}: cannot read the ${what} (${code ?? String(e)})`);
  } finally {
    closeSync(fd);
  }
}

/** The offset of the first byte sequence that is not UTF-8 (overlong forms and surrogates included). */
export function firstInvalidUtf8(buf: Uint8Array): number {
  for (let i = 0; i < buf.length;) {
    const b = buf[i]!;
    let n: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [n, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [n, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= buf.length) return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** 1-based line and column (in characters) of byte `offset` of a UTF-8 text. */
function positionOfByte(buf: Buffer, offset: number): { line: number; col: number } {
  const before = buf.subarray(0, offset).toString("utf8");
  const lastBreak = before.lastIndexOf("\n");
  let line = 1;
  for (let i = before.indexOf("\n"); i >= 0; i = before.indexOf("\n", i + 1)) line++;
  return { line, col: before.length - lastBreak };
}

/**
 * Bytes as text: UTF-8 that decodes exactly (a byte that is not UTF-8 would become U+FFFD in the
 * build), without a leading byte-order mark (BuildKit drops it from the first line only, and it
 * would shift every column of line 1).
 */
export function decodeInput(buf: Buffer, label: string): string {
  if (!isUtf8(buf)) {
    const at = firstInvalidUtf8(buf);
    const { line, col } = positionOfByte(buf, at);
    const bytes = [...buf.subarray(at, at + 4)].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, "0")}`);
    throw new UserError(
      `bytes that are not UTF-8 (${bytes.join(" ")}); bakeplan reads UTF-8 only: save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)`,
      { location: { file: label, line, col } },
    );
  }
  const text = buf.toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A regular file's text (see readInputBytes and decodeInput). */
export function readInputText(abs: string, label: string, what: string, budget: InputBudget): string {
  return decodeInput(readInputBytes(abs, label, what, budget, { missing: "error" })!, label);
}
