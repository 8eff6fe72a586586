import { ConfigError, UserError } from "./errors.js";
import { run, type Output } from "./cli.js";

const stdio: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The only place that turns errors into messages and exit codes. */
export async function main(argv: string[], output: Output = stdio): Promise<number> {
  try {
    return await run(argv, output);
  } catch (e) {
    if (e instanceof ConfigError) {
      output.err(
        `bakeplan: ${e.issues.length === 1 ? "error" : `${e.issues.length} errors`}:\n${e.message.replace(/^/gm, "  ")}\n`,
      );
      return e.exitCode;
    }
    if (e instanceof UserError) {
      output.err(`bakeplan: error: ${e.message}\n`);
      return e.exitCode;
    }
    output.err(
      `bakeplan: internal error (this is a bug; please report it with the command you ran):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 1;
  }
}
