/** A typed wrapper over EventEmitter: events and their argument tuples are checked at compile time. */
import { EventEmitter } from 'node:events';

// biome-ignore lint/suspicious/noExplicitAny: listener tuples of any shape
export type EventMap = Record<string, any[]>;

export class TypedEmitter<E extends EventMap> {
  private readonly ee = new EventEmitter();

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.on(event, listener as (...a: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.once(event, listener as (...a: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.ee.off(event, listener as (...a: unknown[]) => void);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.ee.listenerCount(event);
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return this.ee.emit(event, ...args);
  }

  protected removeAllListeners(): void {
    this.ee.removeAllListeners();
  }
}
