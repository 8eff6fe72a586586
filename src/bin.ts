import type { Output } from "./command-support/types.js";
import { run } from "./cli.js";
import { BuildxError, ConfigError, UsageError, UserError } from "./errors.js";
import { sourceMappedStack } from "./io/stack-trace.js";
import { shellQuote } from "./text.js";

const stdio: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The only place that turns errors into messages and exit codes. */
export async function main(argv: string[], output: Output = stdio): Promise<number> {
  try {
    await run(argv, output);
    return 0;
  } catch (e) {
    output.err(message(e));
    return exitCode(e);
  }
}

/** 0 ok, 1 invalid input, drift or a failed check, 2 usage; buildx's own code when buildx failed. */
function exitCode(e: unknown): number {
  if (e instanceof UsageError) return 2;
  if (e instanceof BuildxError) return e.exitCode;
  return 1;
}

function message(e: unknown): string {
  if (e instanceof ConfigError)
    return `bakeplan: ${e.issues.length === 1 ? "error" : `${e.issues.length} errors`}:\n${indent(e.message)}`;
  if (e instanceof BuildxError && e.stderrTail !== "")
    return `bakeplan: error: ${e.message}\n${indent(`$ ${shellQuote(["docker", ...e.argv])}\n${e.stderrTail}`)}`;
  if (e instanceof UserError) return `bakeplan: error: ${e.message}\n`;
  return `bakeplan: internal error (this is a bug; please report it with the command you ran):\n${e instanceof Error ? (e.stack === undefined ? e.message : sourceMappedStack(e.stack)) : String(e)}\n`;
}

function indent(text: string): string {
  return `${text.replace(/\n$/, "").replace(/^/gm, "  ")}\n`;
}
