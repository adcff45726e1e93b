// Polling with a deadline for tests: no fixed sleeps, and a failure names what it waited for.

/** Polls until check() returns something truthy (and returns it), or throws naming what it waited for. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
