import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { onTestFinished } from "vitest";
import { main } from "../src/bin.js";

export const REPO = resolve(import.meta.dirname, "..");

/** A throwaway directory with the given files, removed when the test ends. */
export function testdir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "bakeplan-test-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** A copy of the bundled example (context.yaml + templates/) in a throwaway directory. */
export function exampleCopy(): string {
  const dir = testdir();
  cpSync(join(REPO, "context.yaml"), join(dir, "context.yaml"));
  cpSync(join(REPO, "templates"), join(dir, "templates"), { recursive: true });
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process (same code path as bin/bakeplan.js) with cwd set to `cwd`. */
export async function runCli(args: string[], cwd?: string): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const previous = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    const code = await main(["node", "bakeplan", ...args], { out: (s) => void (stdout += s), err: (s) => void (stderr += s) });
    return { code, stdout, stderr };
  } finally {
    if (cwd) process.chdir(previous);
  }
}
