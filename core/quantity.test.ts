import { describe, expect, test } from "bun:test";
import { parseCpuCores, parseMemoryMiB, parseQuantity, QuantityError } from "./quantity";

describe("Kubernetes quantities", () => {
  test("plain and decimal numbers are taken as they are", () => {
    expect(parseQuantity("2")).toBe(2);
    expect(parseQuantity("0.5")).toBe(0.5);
    expect(parseQuantity(".5")).toBe(0.5);
    expect(parseQuantity("1.")).toBe(1);
    expect(parseQuantity(" 3 ")).toBe(3);
  });

  test("decimal suffixes scale by powers of ten, binary ones by powers of 1024", () => {
    expect(parseQuantity("500m")).toBe(0.5);
    expect(parseQuantity("2k")).toBe(2000);
    expect(parseQuantity("1M")).toBe(1e6);
    expect(parseQuantity("1G")).toBe(1e9);
    expect(parseQuantity("1T")).toBe(1e12);
    expect(parseQuantity("1Ki")).toBe(1024);
    expect(parseQuantity("1.5Mi")).toBe(1.5 * 1024 ** 2);
    expect(parseQuantity("1Gi")).toBe(1024 ** 3);
    expect(parseQuantity("1Ti")).toBe(1024 ** 4);
    expect(parseQuantity("2e3")).toBe(2000);
  });

  test("cpu comes out in cores and memory in MiB", () => {
    expect(parseCpuCores("500m")).toBe(0.5);
    expect(parseCpuCores("1.5")).toBe(1.5);
    expect(parseMemoryMiB("512Mi")).toBe(512);
    expect(parseMemoryMiB("1Gi")).toBe(1024);
    expect(parseMemoryMiB("1G")).toBeCloseTo(953.674, 3);
  });

  test("empty strings, garbage and unknown suffixes are refused with the input named", () => {
    for (const bad of ["", "   ", "abc", "1.2.3", "Mi", "512 Mi", "512MB", "1K", "0x10", "1e", "--1"]) {
      expect(() => parseQuantity(bad)).toThrow(QuantityError);
    }
    expect(() => parseQuantity("")).toThrow("it is empty");
    expect(() => parseQuantity("512MB")).toThrow('invalid quantity "512MB"');
  });

  test("cpu and memory must be positive", () => {
    expect(() => parseCpuCores("0")).toThrow("cpu must be positive");
    expect(() => parseCpuCores("-1")).toThrow("cpu must be positive");
    expect(() => parseMemoryMiB("0Mi")).toThrow("memory must be positive");
  });
});
