/**
 * The hand-over between a push consumer's consume services and `for await (const m of consumer)`.
 * A consume service `offer`s a message and gets a promise of its outcome; the iterator yields offered
 * messages in arrival order, and a yielded message counts as consumed (SUCCESS) once the loop asks for
 * the next one or leaves the loop. Closing the channel settles every message still waiting, and the
 * one being processed, as ABANDONED: not committed, so it is delivered again.
 *
 * The number of waiting messages is bounded by the consume services (their concurrency), not here.
 */
import type { ReceivedMessage } from './message.js';

export const ConsumeOutcome = {
  SUCCESS: 'SUCCESS',
  RETRY: 'RETRY',
  /** Not processed and not to be retried through the broker: the consumer is stopping. */
  ABANDONED: 'ABANDONED',
} as const;
export type ConsumeOutcome = (typeof ConsumeOutcome)[keyof typeof ConsumeOutcome];

interface Offer {
  message: ReceivedMessage;
  settle: (outcome: ConsumeOutcome) => void;
}

export class MessageChannel {
  private offers: (Offer | undefined)[] = [];
  private head = 0;
  private current: Offer | undefined;
  private waiting: ((result: IteratorResult<ReceivedMessage>) => void) | undefined;
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  offer(message: ReceivedMessage): Promise<ConsumeOutcome> {
    if (this.closed) return Promise.resolve(ConsumeOutcome.ABANDONED);
    return new Promise((settle) => {
      const offer: Offer = { message, settle };
      const waiting = this.waiting;
      if (waiting !== undefined) {
        this.waiting = undefined;
        this.current = offer;
        waiting({ value: message, done: false });
        return;
      }
      this.offers.push(offer);
    });
  }

  /** The iterator's next(): the previous message is done; the next waiting one, or wait. */
  next(): Promise<IteratorResult<ReceivedMessage>> {
    this.settleCurrent(ConsumeOutcome.SUCCESS);
    if (this.head < this.offers.length) {
      const offer = this.offers[this.head]!;
      this.offers[this.head] = undefined;
      this.head++;
      if (this.head === this.offers.length) {
        this.offers = [];
        this.head = 0;
      }
      this.current = offer;
      return Promise.resolve({ value: offer.message, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting !== undefined) return Promise.reject(new Error('TideMQ: only one next() may wait at a time on a consumer iterator'));
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** The loop was left (break, return, throw): the message being processed counts as consumed. */
  finishCurrent(): void {
    this.settleCurrent(ConsumeOutcome.SUCCESS);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.settleCurrent(ConsumeOutcome.ABANDONED);
    for (let index = this.head; index < this.offers.length; index++) this.offers[index]?.settle(ConsumeOutcome.ABANDONED);
    this.offers = [];
    this.head = 0;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
  }

  private settleCurrent(outcome: ConsumeOutcome): void {
    const current = this.current;
    if (current === undefined) return;
    this.current = undefined;
    current.settle(outcome);
  }
}
