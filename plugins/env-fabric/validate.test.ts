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

describe("environment markers", () => {
  test.each([
    'x==1 ; python_version>"0"',
    'x; python_version >= "3.8" and os_name == "posix"',
    "x ; extra == 'cli'",
    'x; (python_version > "3" or sys_platform == "linux")',
    'x; "linux" in sys_platform',
    'x; platform_machine not in "arm64 aarch64"',
  ])("the marker in %p is accepted", (req) => expect(codeOf(() => checkRequirements([req], strict))).toBe("ok"));

  test.each([
    'x==1 ; python_version>"0" --pre',
    'x ; python_version>"0" -e .',
    'x; python_version > "3" extra',
    'x; (python_version > "3"',
    'x; python_version > "3")',
    "x; unknown_var == '1'",
    'x; python_version > "3" and',
  ])("%p is refused with INVALID_PACKAGES naming it", (req) => {
    const error = (() => {
      try {
        checkRequirements([req], strict);
      } catch (err) {
        return err as { code: string; details: { packages: string[] } };
      }
    })();
    expect(error?.code).toBe("INVALID_PACKAGES");
    expect(error?.details.packages).toEqual([req]);
  });

  test("a path or URL followed by an option is refused even where direct references are allowed", () => {
    const policy = { allowDirectReferences: true, allowOptions: false };
    expect(codeOf(() => checkRequirements(["./pkg --pre"], policy))).toBe("INVALID_PACKAGES");
    expect(codeOf(() => checkRequirements(['pkg @ file:///tmp/p.whl ; python_version>"0" --pre'], policy))).toBe("INVALID_PACKAGES");
  });

  test("an over-long refused requirement is quoted only in part", () => {
    const long = "x".repeat(5000);
    try {
      checkRequirements([long], strict);
      throw new Error("not refused");
    } catch (err) {
      const quoted = (err as { details: { packages: string[] } }).details.packages[0]!;
      expect(quoted.length).toBeLessThan(200);
      expect(quoted).toContain("5000 characters");
    }
  });
});
