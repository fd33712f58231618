// One clock drives every clip of a widget, so all cells show the same frame
// index. Clips shorter than the longest hold their last frame.

export class PlaybackClock {
  private anchorFrame = 0;
  private anchorTime = 0;
  private running = false;

  constructor(
    public numFrames: number,
    private fpsValue = 10,
    public loop = true,
  ) {}

  get playing(): boolean {
    return this.running;
  }

  get fps(): number {
    return this.fpsValue;
  }

  /** Frame index at time `now` (ms); stops the clock at the end when not looping. */
  frameAt(now: number): number {
    if (!this.running) return this.anchorFrame;
    const n = Math.max(1, this.numFrames);
    const raw = this.anchorFrame + Math.floor(((now - this.anchorTime) * this.fpsValue) / 1000);
    if (this.loop) return ((raw % n) + n) % n;
    if (raw >= n - 1) {
      this.running = false;
      this.anchorFrame = n - 1;
      return n - 1;
    }
    return raw;
  }

  play(now: number): void {
    if (this.running) return;
    if (!this.loop && this.anchorFrame >= this.numFrames - 1) this.anchorFrame = 0;
    this.anchorTime = now;
    this.running = this.numFrames > 1;
  }

  pause(now: number): void {
    this.anchorFrame = this.frameAt(now);
    this.running = false;
  }

  seek(frame: number, now: number): void {
    const n = Math.max(1, this.numFrames);
    this.anchorFrame = Math.max(0, Math.min(n - 1, Math.round(frame)));
    this.anchorTime = now;
  }

  step(delta: number, now: number): number {
    const n = Math.max(1, this.numFrames);
    const f = this.frameAt(now);
    this.running = false;
    this.anchorFrame = this.loop ? (((f + delta) % n) + n) % n : Math.max(0, Math.min(n - 1, f + delta));
    return this.anchorFrame;
  }

  setFps(fps: number, now: number): void {
    this.anchorFrame = this.frameAt(now);
    this.anchorTime = now;
    this.fpsValue = fps > 0 ? fps : this.fpsValue;
  }

  setNumFrames(n: number, now: number): void {
    const f = this.frameAt(now);
    this.numFrames = Math.max(1, n);
    this.seek(Math.min(f, this.numFrames - 1), now);
    if (this.numFrames <= 1) this.running = false;
  }
}

/** The frame a clip of `clipFrames` frames shows at global frame `frame`. */
export function clipFrame(frame: number, clipFrames: number): number {
  return Math.min(frame, clipFrames - 1);
}
