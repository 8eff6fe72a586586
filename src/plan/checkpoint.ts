import { describeString } from "../config/rules.js";
import type { YamlSource } from "../config/yaml-source.js";
import type { Issue, SourceLocation } from "../errors.js";
import { argDeclarations } from "../render/instructions.js";
import { checkValue, derivedArgValue, derivedProblem, type TextPlace } from "../values.js";
import type { BakeFile } from "./bake-file.js";

/** A string from outside context.yaml that can reach an output (an option, a variable, a file name), and how to name it. */
export interface InputText {
  text: string;
  location: SourceLocation;
  what: string;
  name: string;
}

interface Origin {
  text: string;
  location: SourceLocation;
  what: string;
  name: string;
}

/**
 * The output checkpoint: every string that reaches a template scope (keys and values, at any
 * depth), a generated Dockerfile's header or the bake file passes `text`, whatever field it came
 * from, so a value added to the scope or a new bake attribute cannot bypass it. A string that
 * breaks a rule is reported once, at the input it came from: the context.yaml string, option,
 * environment variable or file name that holds it (found by its text, only when there is a problem).
 */
export class OutputCheckpoint {
  readonly issues: Issue[] = [];
  private readonly passed: Record<TextPlace, Set<string>> = { bake: new Set(), dockerfile: new Set() };
  private origins?: Origin[];

  constructor(
    private readonly source: YamlSource,
    private readonly inputs: readonly InputText[] = [],
  ) {}

  /** One string on its way to `place`; `where` names it, for the message, only when it breaks a rule. */
  text(value: string, place: TextPlace, where: () => string): void {
    const passed = this.passed[place];
    if (passed.has(value)) return;
    passed.add(value);
    if (checkValue("", value, "", place).length === 0) return;
    const origin = this.originOf(value, place);
    const into = ` (it reaches ${where()})`;
    if (origin)
      for (const m of checkValue(origin.name, origin.text, origin.what, place))
        this.issues.push({ message: m + into, location: origin.location });
    else
      for (const m of checkValue(JSON.stringify(value), value, "text", place))
        this.issues.push({ message: m + into, location: { file: this.source.file } });
  }

  /**
   * A derived ARG default, written unescaped (values.ts derivedArgValue): BuildKit must read the
   * line `ARG NAME=<written>` back as that one ARG with exactly this text, or it would change the
   * Dockerfile's structure (a quote closing the value, a second ARG after a blank).
   */
  derivedDefault(name: string, text: string, location: SourceLocation): void {
    const problem = derivedProblem(text);
    const back = problem === undefined ? argDeclarations(`${name}=${derivedArgValue(text)}`) : [];
    const ok =
      problem === undefined &&
      back.length === 1 &&
      back[0]!.name === name &&
      back[0]!.value === text &&
      !/[\n\r]/.test(text);
    if (!ok)
      this.issues.push({
        message: `The derived default of ARG ${name} would not reach BuildKit as one ARG default${problem ? `: ${problem}` : ""}`,
        location,
      });
  }

  /** Every key and string of one variant's template scope. */
  scope(scope: unknown, variant: string): void {
    const walk = (v: unknown, path: string) => {
      if (typeof v === "string") this.text(v, "dockerfile", () => `the template value ${path} of ${variant}`);
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v !== null && typeof v === "object")
        for (const [k, x] of Object.entries(v)) {
          const at = path ? `${path}.${k}` : k;
          this.text(k, "dockerfile", () => `the template scope of ${variant}, as the name ${at}`);
          walk(x, at);
        }
    };
    walk(scope, "");
  }

  /** Every key and string of the bake file. */
  bakeFile(file: BakeFile): void {
    const walk = (v: unknown, path: string) => {
      if (typeof v === "string") this.text(v, "bake", () => `the bake file at ${path}`);
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v !== null && typeof v === "object")
        for (const [k, x] of Object.entries(v)) {
          const at = `${path}[${JSON.stringify(k)}]`;
          this.text(k, "bake", () => `the bake file as a name at ${at}`);
          walk(x, at);
        }
    };
    walk(file, "");
  }

  /** The input that holds `value` and itself breaks a rule for `place`: the same text first, else a part of it. */
  private originOf(value: string, place: TextPlace): Origin | undefined {
    this.origins ??= [
      ...this.inputs,
      ...this.source.strings().map((s): Origin => {
        const { what, name } = describeString(s.path, s.key, s.text);
        return { text: s.text, location: this.source.locate(s.path, { key: s.key }), what, name };
      }),
    ];
    const bad = (o: Origin) => checkValue("", o.text, "", place).length > 0;
    return (
      this.origins.find((o) => o.text === value) ??
      this.origins.find((o) => o.text !== "" && value.includes(o.text) && bad(o))
    );
  }
}
