import { chmodSync, realpathSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileStamp } from "../../src/io/stamp.js";
import { walkTemplateDir } from "../../src/io/template-dir.js";
import { testdir } from "../helpers.js";

describe("walkTemplateDir", () => {
  it("lists files and directories depth first in name order, with / paths", () => {
    const dir = testdir({ "t/b.liquid": "", "t/a/z.liquid": "", "t/a/notes.txt": "", "t/c.liquid": "" });
    const root = realpathSync(join(dir, "t"));
    expect(walkTemplateDir(join(dir, "t"))).toEqual([
      { kind: "directory", rel: "a", real: join(root, "a") },
      { kind: "file", rel: "a/notes.txt", real: join(root, "a", "notes.txt") },
      { kind: "file", rel: "a/z.liquid", real: join(root, "a", "z.liquid") },
      { kind: "file", rel: "b.liquid", real: join(root, "b.liquid") },
      { kind: "file", rel: "c.liquid", real: join(root, "c.liquid") },
    ]);
  });

  it("follows links inside the directory and walks each real directory once", () => {
    const dir = testdir({ "t/parts/x.liquid": "", "t/main.liquid": "" });
    const t = join(dir, "t");
    const root = realpathSync(t);
    symlinkSync("parts", join(t, "also"));
    symlinkSync("main.liquid", join(t, "alias.liquid"));
    symlinkSync("..", join(t, "parts", "up"));
    expect(walkTemplateDir(t)).toEqual([
      { kind: "file", rel: "alias.liquid", real: join(root, "main.liquid") },
      { kind: "directory", rel: "also", real: join(root, "parts") },
      { kind: "directory", rel: "also/up", real: root },
      { kind: "file", rel: "also/x.liquid", real: join(root, "parts", "x.liquid") },
      { kind: "file", rel: "main.liquid", real: join(root, "main.liquid") },
      { kind: "directory", rel: "parts", real: join(root, "parts") },
    ]);
  });

  it("reports links that lead outside, and broken links inside, without following them", () => {
    const dir = testdir({ "t/ok.liquid": "", "elsewhere/x.liquid": "" });
    const t = join(dir, "t");
    const real = realpathSync(dir);
    symlinkSync(join(dir, "elsewhere"), join(t, "out-dir"));
    symlinkSync(join(dir, "elsewhere", "x.liquid"), join(t, "out.liquid"));
    symlinkSync(join(dir, "nowhere.liquid"), join(t, "out-dangling.liquid"));
    symlinkSync("missing.liquid", join(t, "broken.liquid"));
    expect(walkTemplateDir(t)).toEqual([
      { kind: "broken", rel: "broken.liquid", target: join(t, "missing.liquid") },
      { kind: "file", rel: "ok.liquid", real: join(realpathSync(t), "ok.liquid") },
      { kind: "outside", rel: "out-dangling.liquid", real: join(dir, "nowhere.liquid") },
      { kind: "outside", rel: "out-dir", real: join(real, "elsewhere") },
      { kind: "outside", rel: "out.liquid", real: join(real, "elsewhere", "x.liquid") },
    ]);
  });

  it("gives undefined for a directory that does not exist", () => {
    expect(walkTemplateDir(join(testdir(), "templates"))).toBeUndefined();
  });
});

describe("fileStamp", () => {
  it("stays while a file is untouched and changes when it is replaced, rewritten or its mode changes", () => {
    const dir = testdir({ "a.txt": "one" });
    const file = join(dir, "a.txt");
    const first = fileStamp(file);
    expect(first).toMatch(/^\d+:\d+:\d+:3:\d+:\d+$/);
    expect(fileStamp(file)).toBe(first);

    chmodSync(file, 0o600);
    const chmodded = fileStamp(file);
    expect(chmodded).not.toBe(first);

    writeFileSync(join(dir, "b.txt"), "one");
    renameSync(join(dir, "b.txt"), file);
    const replaced = fileStamp(file);
    expect(replaced).not.toBe(chmodded);

    writeFileSync(file, "three");
    expect(fileStamp(file)).not.toBe(replaced);
  });

  it("is undefined for a path that cannot be stat'ed", () => {
    expect(fileStamp(join(testdir(), "missing"))).toBeUndefined();
  });
});
