/** Where a value or a problem comes from: a file position plus the key path inside it. */
export interface SourceLocation {
  file: string;
  line?: number;
  col?: number;
  /** Key path inside the file, e.g. `axes.framework.vllm.args.VLLM_REF`, or a template name. */
  path?: string;
}

export function formatLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) s += `:${loc.line}`;
  if (loc.line !== undefined && loc.col !== undefined) s += `:${loc.col}`;
  return loc.path ? `${s}: ${loc.path}` : s;
}

export interface Issue {
  message: string;
  location?: SourceLocation;
}

export function formatIssue(issue: Issue): string {
  return issue.location ? `${formatLocation(issue.location)}: ${issue.message}` : issue.message;
}

/** An error the user can fix; printed without a stack trace, exit code 1. */
export class UserError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One or more problems in context.yaml (or the command line values applied to it). */
export class ConfigError extends UserError {
  constructor(readonly issues: Issue[]) {
    super(issues.map(formatIssue).join("\n"));
  }
}

/** A template failed to parse or render. */
export class TemplateError extends UserError {
  constructor(
    message: string,
    readonly location: SourceLocation,
    options?: { cause?: unknown },
  ) {
    super(`${formatLocation(location)}: ${message}`, options);
  }
}

/** Bad command-line usage; exit code 2. */
export class UsageError extends UserError {
  override readonly exitCode = 2;
}

/** `check` found generated files out of date; exit code 1, the diff is the message. */
export class DriftError extends UserError {}

/** A file could not be read or written. */
export class OutputError extends UserError {}

/** buildx failed or is missing; the exit code is buildx's own when it ran. */
export class BuildxError extends UserError {
  override readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
