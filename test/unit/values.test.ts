import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkImageReference,
  checkRegistry,
  checkRepository,
  checkTag,
  checkValue,
  dockerfileArgValue,
  escapeBake,
  sanitizeTagPart,
  secretLikeReason,
} from "../../src/values.js";

/** How bake's HCL template reader turns a JSON string back into text; throws where it would interpolate. */
function hclRead(s: string): string {
  let out = "";
  for (let i = 0; i < s.length;) {
    if (s.startsWith("$${", i) || s.startsWith("%%{", i)) {
      out += `${s[i]}{`;
      i += 3;
    } else if (s.startsWith("${", i) || s.startsWith("%{", i)) {
      throw new Error(`bake would interpolate at ${i} in ${JSON.stringify(s)}`);
    } else {
      out += s[i];
      i += 1;
    }
  }
  return out;
}

/** How BuildKit reads an ARG default: bare, or double-quoted with \\ escapes. */
function dockerfileRead(v: string): string {
  if (!v.startsWith('"')) return v;
  expect(v.endsWith('"')).toBe(true);
  return v.slice(1, -1).replace(/\\(.)/g, "$1");
}

describe("escapeBake", () => {
  // prettier-ignore
  it.each([
    ["plain", "plain"],
    ["${HOME}", "$${HOME}"],
    ["a ${b} c ${d}", "a $${b} c $${d}"],
    ["%{ if x }", "%%{ if x }"],
    ["$HOME and 100%", "$HOME and 100%"],
    ["$${already}", "$$${already}"],
    ["${", "$${"],
  ])("escapes %j as %j", (input, expected) => {
    expect(escapeBake(input)).toBe(expected);
  });

  it("gives back the original text when bake reads it, for any string", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("$", "%", "{", "}", "a", " ") }),
        (s) => hclRead(escapeBake(s)) === s,
      ),
    );
  });
});

describe("dockerfileArgValue", () => {
  // prettier-ignore
  it.each([
    ["v0.19.1", "v0.19.1"],
    ["nvcr.io/nvidia/cuda:12.9.1-devel-ubuntu24.04@sha256:abc", "nvcr.io/nvidia/cuda:12.9.1-devel-ubuntu24.04@sha256:abc"],
    ["a,b=c+d", "a,b=c+d"],
    ["", '""'],
    ["two words", '"two words"'],
    ['"quoted"', '"\\"quoted\\""'],
    ["$HOME", '"\\$HOME"'],
    ["${X:-y}", '"\\${X:-y}"'],
    ["back\\slash", '"back\\\\slash"'],
    ["tab\there", '"tab\there"'],
  ])("writes %j as %s", (input, expected) => {
    expect(dockerfileArgValue(input)).toBe(expected);
  });

  it("reads back as exactly the value, for any single-line string", () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/[\n\r]/.test(s)),
        (s) => dockerfileRead(dockerfileArgValue(s)) === s,
      ),
    );
  });
});

describe("sanitizeTagPart (docker/metadata-action's branch sanitising)", () => {
  // prettier-ignore
  it.each([
    ["main", "main"],
    ["feature/new-thing", "feature-new-thing"],
    ["Feature/Foo Bar", "Feature-Foo-Bar"],
    ["users//alice@x", "users-alice-x"],
    ["-leading-dash", "leading-dash"],
    ["..dots", "dots"],
    ["v1.2.0+build.5", "v1.2.0-build.5"],
    ["a".repeat(200), "a".repeat(128)],
  ])("turns %j into %j", (input, expected) => {
    expect(sanitizeTagPart(input)).toBe(expected);
  });

  it("always yields a valid tag or an empty string", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const tag = sanitizeTagPart(s);
        return tag === "" || checkTag(tag).length === 0;
      }),
    );
  });
});

describe("checkImageReference", () => {
  // prettier-ignore
  it.each([
    "ubuntu",
    "ubuntu:24.04",
    "library/ubuntu:24.04",
    "docker.io/library/ubuntu:24.04",
    "localhost:5000/demo/app:1",
    "123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo:tag_1.0-x",
    "nvcr.io/nvidia/cuda@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "[::1]:5000/app:1",
  ])("accepts %s", (ref) => {
    expect(checkImageReference(ref)).toEqual([]);
  });

  // prettier-ignore
  it.each([
    ["docker.io/Library/ubuntu:24.04", "the repository must be lowercase"],
    [`ubuntu:${"t".repeat(129)}`, "the tag is 129 characters, at most 128 are allowed"],
    ["ubuntu:24.04 ", "expected [registry/]repository[:tag][@digest] with a lowercase repository"],
    ["", "expected [registry/]repository[:tag][@digest]"],
    ["ubuntu:", "expected [registry/]repository[:tag][@digest]"],
    ["${BASE}", "expected [registry/]repository[:tag][@digest]"],
  ])("refuses %j: %s", (ref, message) => {
    expect(checkImageReference(ref).join("\n")).toContain(message);
  });
});

describe("checkTag, checkRepository, checkRegistry", () => {
  // prettier-ignore
  it.each([
    { check: checkTag, value: "latest-vllm", ok: true },
    { check: checkTag, value: "_x", ok: true },
    { check: checkTag, value: ".x", ok: false },
    { check: checkTag, value: "a/b", ok: false },
    { check: checkTag, value: "x".repeat(129), ok: false },
    { check: checkRepository, value: "ai-dynamo/dynamo", ok: true },
    { check: checkRepository, value: "AI/dynamo", ok: false },
    { check: checkRepository, value: "a//b", ok: false },
    { check: checkRegistry, value: "123456789012.dkr.ecr.us-west-2.amazonaws.com", ok: true },
    { check: checkRegistry, value: "localhost:5000", ok: true },
    { check: checkRegistry, value: "https://registry.example.com", ok: false },
  ])("$check.name($value) -> ok: $ok", ({ check, value, ok }) => {
    expect(check(value).length === 0).toBe(ok);
  });
});

describe("secretLikeReason", () => {
  // prettier-ignore
  it.each([
    ["HF_TOKEN", "x", "its name HF_TOKEN looks like a secret"],
    ["AWS_SECRET_ACCESS_KEY", "x", "its name AWS_SECRET_ACCESS_KEY looks like a secret"],
    ["DB_PASSWORD", "x", "its name DB_PASSWORD looks like a secret"],
    ["NPM_API_KEY", "x", "its name NPM_API_KEY looks like a secret"],
    ["REF", "AKIAABCDEFGHIJKLMNOP", "its value looks like an AWS access key id"],
    ["REF", "-----BEGIN RSA PRIVATE KEY-----", "its value looks like a private key block"],
    ["REF", "xoxb-1234567890-abc", "its value looks like a Slack token"],
  ])("flags %s=%s", (name, value, reason) => {
    expect(secretLikeReason(name, value)).toBe(reason);
  });

  // prettier-ignore
  it.each([
    ["TOKENIZER_REF", "v1"],
    ["NIXL_REF", "0.10.1"],
    ["SCCACHE_BUCKET", ""],
    ["PASSTHROUGH", "x"],
  ])("does not flag %s=%s", (name, value) => {
    expect(secretLikeReason(name, value)).toBeUndefined();
  });
});

describe("checkValue", () => {
  it.each([
    ["a\nb", "The ARG X contains a line break, which would start a new Dockerfile instruction; use a single line"],
    ["a\rb", "The ARG X contains a line break"],
    ["a\0b", "The ARG X contains a NUL character"],
  ])("refuses %j", (value, message) => {
    expect(checkValue("X", value, "ARG").join("\n")).toContain(message);
  });

  it("accepts a single line", () => {
    expect(checkValue("X", "a b\tc ${d}", "ARG")).toEqual([]);
  });
});
