// One question at a time on a terminal, for `bunker agent configure`: the current value in brackets, asked again
// until the answer passes the field's rule. Ctrl-C or end of input cancels the command (exit status 2).
// It deliberately mirrors create-agent/prompts.ts's `ask` (same prompt, same re-asking) rather than importing it:
// create-agent is a standalone package that imports nothing of Bunker's, and Bunker's CLI does not import the
// scaffolder's internals either; the two differ only in the error a cancel raises (usageError here, CANCELLED there).
import { createInterface } from "node:readline";
import { usageError } from "./errors";

export interface Asker {
  /** Asks until validate returns "" for the answer (an empty answer means the default). */
  ask(question: string, options?: { default?: string; validate?: (answer: string) => string }): Promise<string>;
  close(): void;
}

export function terminalAsker(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Asker {
  const rl = createInterface({ input, output, terminal: true });
  let cancel: ((err: Error) => void) | undefined;
  const onCancel = () => cancel?.(usageError("cancelled"));
  rl.on("SIGINT", onCancel);
  rl.on("close", onCancel);
  const line = (question: string) =>
    new Promise<string>((resolve, reject) => {
      cancel = reject;
      rl.question(question, (answer) => {
        cancel = undefined;
        resolve(answer.trim());
      });
    });
  return {
    async ask(question, options = {}) {
      const shown = options.default ? ` (${options.default})` : "";
      for (;;) {
        const answer = (await line(`? ${question}${shown}: `)) || options.default || "";
        const problem = options.validate?.(answer) ?? "";
        if (!problem) return answer;
        output.write(`  ! ${problem}\n`);
      }
    },
    close() {
      rl.off("close", onCancel);
      rl.close();
    },
  };
}
