import { describe, expect, it } from "vitest";
import { plannedGroups } from "../../../src/plan/groups.js";

describe("plannedGroups", () => {
  it("keeps only planned members and drops the groups left empty", () => {
    const groups = new Map([
      ["all", ["a", "b", "c"]],
      ["gpu", ["b"]],
      ["default", ["a", "c"]],
    ]);
    expect([...plannedGroups(groups, new Set(["a", "c"]))]).toEqual([
      ["all", ["a", "c"]],
      ["default", ["a", "c"]],
    ]);
  });
});
