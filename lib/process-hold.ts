/**
 * Whether something open should keep the Node process alive, counted: a bound socket, a
 * listening server, an open connection — as their kernel counterparts do. The stack itself
 * never holds the process (its device and timers are unreferenced). While the count is
 * above zero, one referenced timer that never fires says "alive" to libuv.
 */
export class ProcessHold {
  private holds = 0;
  private keeper: NodeJS.Timeout | undefined;

  /** One more (or one fewer) open, referenced thing. */
  hold(on: boolean): void {
    this.holds += on ? 1 : -1;
    if (this.holds > 0 && !this.keeper) {
      this.keeper = setInterval(() => {}, 0x7fff_ffff);
    } else if (this.holds === 0 && this.keeper) {
      clearInterval(this.keeper);
      this.keeper = undefined;
    }
  }
}
