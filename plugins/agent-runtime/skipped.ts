// What an agent project never ships, on both sides of an upload: the server's reader (project-files.ts) leaves these
// folders out, and `bunker agent deploy` (cli/deploy.ts) does not pack them. No imports: the CLI loads it too.

/** Folders never part of a template: installed or generated, or Bunker's own (.bunker holds the dependency archive). */
export const SKIPPED: readonly string[] = ["node_modules", ".git", ".venv", "__pycache__", ".bunker"];

/** Left out of an upload (tar --exclude patterns): SKIPPED, and files nobody means to ship. */
export const EXCLUDED: readonly string[] = [...SKIPPED, "*.pyc", ".DS_Store"];
