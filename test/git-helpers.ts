// Real git repositories for tests: created in a temp dir, commits made with a fixed author and
// date, and nothing read from the user's git configuration.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { testdir } from "./helpers.js";

const GIT_ENV: Record<string, string> = {
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "bakeplan test",
  GIT_AUTHOR_EMAIL: "test@example.invalid",
  GIT_COMMITTER_NAME: "bakeplan test",
  GIT_COMMITTER_EMAIL: "test@example.invalid",
  GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
};

/** Sets the git environment for the file's tests (bakeplan's own git calls inherit it), restores it after. */
export function isolateGit(): void {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [k, v] of Object.entries(GIT_ENV)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

export interface Repo {
  dir: string;
  git(...args: string[]): string;
  /** Writes files (null removes one). */
  write(files: Record<string, string | null>): void;
  commit(message: string, files?: Record<string, string | null>): string;
}

export function gitRepo(files: Record<string, string> = {}, dir = testdir()): Repo {
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: dir, encoding: "utf8", env: { ...process.env, ...GIT_ENV } }).trim();
  git("init", "-q", "-b", "main");
  const repo: Repo = {
    dir,
    git,
    write(changes) {
      for (const [name, content] of Object.entries(changes)) {
        const abs = join(dir, name);
        if (content === null) rmSync(abs, { force: true });
        else {
          mkdirSync(dirname(abs), { recursive: true });
          writeFileSync(abs, content);
        }
      }
    },
    commit(message, changes = {}) {
      repo.write(changes);
      git("add", "-A");
      git("commit", "-q", "--allow-empty", "-m", message);
      return git("rev-parse", "HEAD");
    },
  };
  if (Object.keys(files).length > 0) repo.commit("initial", files);
  return repo;
}
