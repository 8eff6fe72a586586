// Compares a planned bake file with what real `docker buildx bake --print` reads from it: every
// attribute of every target, the values BuildKit would get (bake re-escapes `${` on output), and
// nothing bakeplan emitted silently dropped.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { expect } from "vitest";

export type PrintedTarget = Record<string, unknown>;
export interface Printed {
  group?: Record<string, { targets: string[] }>;
  target: Record<string, PrintedTarget>;
}

/** `docker buildx bake --print ARGS` in `cwd`, with `env` added to the environment. */
export function bakePrint(cwd: string, args: string[], env: Record<string, string> = {}): Printed {
  return JSON.parse(
    execFileSync("docker", ["buildx", "bake", "--print", ...args], {
      cwd,
      encoding: "utf8",
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  ) as Printed;
}

/**
 * What buildx would build from the script `bakeplan bake --dry-run` printed: the script run with
 * `--print` on its bake, in `cwd` with `env` added. The temp directory the script made (a real run
 * makes and removes it) is removed.
 */
export function printDryRun(cwd: string, script: string, env: Record<string, string> = {}): Printed {
  try {
    return JSON.parse(
      execFileSync("sh", ["-c", `${script.trim()} --print`], {
        cwd,
        encoding: "utf8",
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "ignore"],
      }),
    ) as Printed;
  } finally {
    removeDryRunTemp(script);
  }
}

/** Removes the temp directory a `bakeplan bake --dry-run` script makes (`mkdir -p DIR`), once the script has run. */
export function removeDryRunTemp(script: string): void {
  const dir = /^mkdir -p (\S+)$/m.exec(script)?.[1];
  expect(dir, script).toBeDefined();
  rmSync(dir!, { recursive: true, force: true });
}

/** `type=registry,ref=x,mode=max` -> {type: "registry", ref: "x", mode: "max"} (what --print shows from buildx 0.19). */
export function csvEntry(s: string): Record<string, string> {
  return Object.fromEntries(s.split(",").map((kv) => kv.split("=", 2) as [string, string]));
}

const unescape = (s: string) => s.replaceAll("$${", "${").replaceAll("%%{", "%{");

/**
 * Every planned target comes back from buildx as planned. Strings are compared unescaped; a
 * secret's `${NAME}` is the value of `env[NAME]`, as bake interpolates it.
 */
export function expectPrintedAsPlanned(planned: Printed, printed: Printed, env: Record<string, string> = {}): void {
  expect(Object.keys(printed.target).sort()).toEqual(Object.keys(planned.target).sort());
  const lists = (v: unknown) => ((v as string[] | undefined) ?? []).map(csvEntry);
  for (const [name, ours] of Object.entries(planned.target)) {
    const theirs = printed.target[name]!;
    const want = JSON.parse(unescape(JSON.stringify(ours))) as PrintedTarget;
    const got = JSON.parse(unescape(JSON.stringify(theirs))) as PrintedTarget;
    for (const key of ["args", "labels", "tags", "platforms", "target", "dockerfile", "context", "network"])
      expect(got[key], `${name} ${key}`).toEqual(want[key]);
    expect(got["cache-from"] ?? [], `${name} cache-from`).toEqual(lists(want["cache-from"]));
    expect(got["cache-to"] ?? [], `${name} cache-to`).toEqual(lists(want["cache-to"]));
    const secrets = ((ours.secret as string[] | undefined) ?? []).map((s) =>
      csvEntry(s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, v: string) => env[v] ?? "")),
    );
    expect(got.secret ?? [], `${name} secret`).toEqual(
      secrets.map((s) => JSON.parse(unescape(JSON.stringify(s))) as Record<string, string>),
    );
    for (const key of Object.keys(ours)) expect(Object.keys(theirs), `${name} kept ${key}`).toContain(key);
  }
}
