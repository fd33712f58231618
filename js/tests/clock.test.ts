import { describe, expect, it } from "vitest";
import { PlaybackClock, clipFrame } from "../lib/clock";

describe("PlaybackClock", () => {
  it("advances at fps and wraps when looping", () => {
    const c = new PlaybackClock(16, 10, true);
    c.play(0);
    expect(c.frameAt(0)).toBe(0);
    expect(c.frameAt(99)).toBe(0);
    expect(c.frameAt(100)).toBe(1);
    expect(c.frameAt(1550)).toBe(15);
    expect(c.frameAt(1600)).toBe(0);
  });

  it("stops on the last frame without loop and restarts from 0 on play", () => {
    const c = new PlaybackClock(4, 10, false);
    c.play(0);
    expect(c.frameAt(1000)).toBe(3);
    expect(c.playing).toBe(false);
    c.play(2000);
    expect(c.frameAt(2000)).toBe(0);
  });

  it("holds the frame while paused and resumes from it", () => {
    const c = new PlaybackClock(16, 10);
    c.play(0);
    c.pause(350);
    expect(c.frameAt(5000)).toBe(3);
    c.play(5000);
    expect(c.frameAt(5100)).toBe(4);
  });

  it("seeks and steps within bounds", () => {
    const c = new PlaybackClock(8, 10, false);
    c.seek(20, 0);
    expect(c.frameAt(0)).toBe(7);
    expect(c.step(1, 0)).toBe(7);
    expect(c.step(-3, 0)).toBe(4);
    c.loop = true;
    c.seek(7, 0);
    expect(c.step(1, 0)).toBe(0);
  });

  it("keeps the current frame when fps changes mid-play", () => {
    const c = new PlaybackClock(100, 10);
    c.play(0);
    c.setFps(20, 500); // at frame 5
    expect(c.frameAt(500)).toBe(5);
    expect(c.frameAt(600)).toBe(7);
  });

  it("never plays a single frame", () => {
    const c = new PlaybackClock(1, 10);
    c.play(0);
    expect(c.playing).toBe(false);
  });
});

describe("clipFrame", () => {
  it("holds the last frame of shorter clips", () => {
    expect(clipFrame(3, 16)).toBe(3);
    expect(clipFrame(12, 8)).toBe(7);
    expect(clipFrame(5, 1)).toBe(0);
  });
});
