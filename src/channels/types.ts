import type { AlertMessage } from '../core/message.js';

/** Where a delivered message landed, so later messages can reply to it or edit it. */
export interface SentRef {
  /** Platform message id (Slack ts, Telegram message_id, Discord message id, email Message-ID). */
  id: string;
  /** Chat / channel / mailbox it went to. */
  to: string;
}

/** Delivery context the outbox hands a channel for one message. */
export interface DeliveryContext {
  /** Where the root message of this incident landed on this channel, if it did. */
  root?: SentRef[];
}

/**
 * An alert channel. `send` delivers one message to every destination it has
 * for it and returns where each copy landed. It throws `DeliveryError`
 * (permanent or not, with `retryAfterMs` for 429) when it cannot.
 */
export interface Channel {
  /** Stable name used in the outbox and in `notify.channels`: `email`, `telegram`, `slack`, `discord`, `console`. */
  readonly name: string;
  /** False when the channel has nowhere to send this message (email without recipients). Default true. */
  accepts?(msg: AlertMessage): boolean;
  send(msg: AlertMessage, ctx: DeliveryContext): Promise<SentRef[]>;
  close?(): Promise<void>;
}
