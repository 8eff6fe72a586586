import { describe, expect, it } from "vitest";
import { ContentStore } from "../../../src/plan/contents.js";

describe("ContentStore", () => {
  it("gives one Content per distinct body, whichever string object carries it", () => {
    const store = new ContentStore();
    const a = store.intern(`FROM a\n${"RUN x\n".repeat(1000)}`);
    const again = store.intern(["FROM a\n", "RUN x\n".repeat(1000)].join(""));
    expect(again).toBe(a);
    expect(a.body).toBe(`FROM a\n${"RUN x\n".repeat(1000)}`);
  });

  it("keeps bodies of the same length apart", () => {
    const store = new ContentStore();
    const a = store.intern("FROM a\n");
    const b = store.intern("FROM b\n");
    expect(b).not.toBe(a);
    expect([a.body, b.body]).toEqual(["FROM a\n", "FROM b\n"]);
    expect(store.intern("FROM b\n")).toBe(b);
  });

  it("is separate per store", () => {
    expect(new ContentStore().intern("x")).not.toBe(new ContentStore().intern("x"));
  });
});
