// Questions on a terminal: each shows its default in brackets and is asked again until the answer is valid.
import { createInterface, type Interface } from "node:readline";
import { CreateAgentError } from "./errors";

export interface Prompter {
  /** Asks until validate returns "" for the answer (an empty answer means the default). */
  ask(question: string, options?: { default?: string; validate?: (answer: string) => string }): Promise<string>;
  /** A numbered list; the answer may be the number or the name. */
  choose(question: string, choices: Array<{ name: string; description: string }>, fallback: string): Promise<string>;
  confirm(question: string, fallback: boolean): Promise<boolean>;
  say(text: string): void;
  close(): void;
}

export function terminalPrompter(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Prompter {
  const rl: Interface = createInterface({ input, output, terminal: true });
  let pending: ((err: Error) => void) | undefined;
  const cancel = () => pending?.(new CreateAgentError("CANCELLED", "cancelled"));
  rl.on("SIGINT", cancel);
  rl.on("close", cancel);

  const line = (question: string) =>
    new Promise<string>((resolve, reject) => {
      pending = reject;
      rl.question(question, (answer) => {
        pending = undefined;
        resolve(answer.trim());
      });
    });

  const prompter: Prompter = {
    async ask(question, options = {}) {
      const shown = options.default ? ` (${options.default})` : "";
      for (;;) {
        const answer = (await line(`? ${question}${shown}: `)) || options.default || "";
        const problem = options.validate?.(answer) ?? "";
        if (!problem) return answer;
        prompter.say(`  ! ${problem}`);
      }
    },
    async choose(question, choices, fallback) {
      const width = Math.max(...choices.map((c) => c.name.length));
      prompter.say(choices.map((c, i) => `  ${i + 1}. ${c.name.padEnd(width)}  ${c.description}`).join("\n"));
      const names = choices.map((c) => c.name);
      const answer = await prompter.ask(question, {
        default: fallback,
        validate: (a) => (names.includes(a) || choices[Number(a) - 1] ? "" : `choose 1-${choices.length} or one of: ${names.join(", ")}`),
      });
      return names.includes(answer) ? answer : choices[Number(answer) - 1]!.name;
    },
    async confirm(question, fallback) {
      const answer = await prompter.ask(`${question} ${fallback ? "[Y/n]" : "[y/N]"}`, {
        validate: (a) => (/^(y|yes|n|no|)$/i.test(a) ? "" : "answer y or n"),
      });
      return answer === "" ? fallback : /^y/i.test(answer);
    },
    say(text) {
      output.write(`${text}\n`);
    },
    close() {
      pending = undefined;
      rl.close();
    },
  };
  return prompter;
}
