import { describe, expect, it } from "vitest";
import { nextName, spanned } from "../region_picker";

describe("spanned", () => {
  it("orders the corners of a drag in any direction", () => {
    expect(spanned(0.8, 0.6, 0.2, 0.1)).toEqual({ x0: 0.2, y0: 0.1, x1: 0.8, y1: 0.6 });
    expect(spanned(0.2, 0.1, 0.8, 0.6)).toEqual({ x0: 0.2, y0: 0.1, x1: 0.8, y1: 0.6 });
  });

  it("clamps a drag that leaves the frame to the frame", () => {
    expect(spanned(-0.5, 0.5, 1.5, 2)).toEqual({ x0: 0, y0: 0.5, x1: 1, y1: 1 });
  });
});

describe("nextName", () => {
  it("numbers boxes and skips names already taken", () => {
    const b = (name: string) => ({ name, x0: 0, y0: 0, x1: 1, y1: 1 });
    expect(nextName([])).toBe("box 1");
    expect(nextName([b("eyes")])).toBe("box 2");
    expect(nextName([b("box 2"), b("box 3")])).toBe("box 4");
  });
});
