import { describe, expect, test } from "bun:test";
import { checkIds, checkPackageNames, checkRequirements, parseRequirementsFile } from "./validate";

const strict = { allowDirectReferences: false, allowOptions: false };
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe("env ids", () => {
  test("letters, digits, dot, dash and underscore are accepted", () => {
    expect(codeOf(() => checkIds({ workflow_id: "wf_1.2-a", node_id: "N9", version_id: "v1" }))).toBe("ok");
  });
  test.each(["..", "a/b", "a b", "", ".hidden", "a..b", "x".repeat(65), "é"])("%p is refused", (bad) => {
    expect(codeOf(() => checkIds({ workflow_id: bad, node_id: "n", version_id: "v1" }))).toBe("INVALID_ID");
  });
});

describe("package requirements", () => {
  test.each(["numpy", "numpy>=1.24.0", "pandas[excel,sql]>=2,<3", "torch==2.0.0", "a~=1.1", 'b>=1; python_version >= "3.8"', "c (>=1.0)"])(
    "%p is a valid requirement",
    (req) => expect(codeOf(() => checkRequirements([req], strict))).toBe("ok"),
  );
  test.each(["-e .", "--index-url=http://example.invalid/simple", "pkg @ https://example.invalid/pkg.whl", "./local", "/abs/pkg", "git+https://example.invalid/r.git", "~/pkg", "a; rm -rf /", ""])(
    "%p is refused with INVALID_PACKAGES",
    (req) => expect(codeOf(() => checkRequirements([req], strict))).toBe("INVALID_PACKAGES"),
  );
  test("URLs and paths pass when the server allows direct references, options still do not", () => {
    const policy = { allowDirectReferences: true, allowOptions: false };
    expect(codeOf(() => checkRequirements(["pkg @ file:///tmp/pkg.whl", "./local"], policy))).toBe("ok");
    expect(codeOf(() => checkRequirements(["-e ."], policy))).toBe("INVALID_PACKAGES");
  });
  test("the refused packages are named in the error details", () => {
    const error = (() => {
      try {
        checkRequirements(["numpy", "-e ."], strict);
      } catch (err) {
        return err as { details: unknown };
      }
    })();
    expect(error?.details).toEqual({ packages: ["-e ."] });
  });
  test("removal takes bare names only", () => {
    expect(codeOf(() => checkPackageNames(["numpy", "scikit-learn"]))).toBe("ok");
    expect(codeOf(() => checkPackageNames(["numpy>=1"]))).toBe("INVALID_PACKAGES");
  });
});

describe("requirements files", () => {
  test("comments, blank lines and continuations are handled", () => {
    expect(parseRequirementsFile("# deps\nnumpy>=1.24  # fast\n\npandas \\\n  >=2.0\n")).toEqual(["numpy>=1.24", "pandas    >=2.0"]);
  });
});
