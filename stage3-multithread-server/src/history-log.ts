import type { ChatMessage } from '#shared';

/**
 * The message history, bounded by count and by bytes (10 000 messages of 64 KiB would be 640 MiB):
 * the oldest messages go first. Appends are O(1) amortized (a moving head, compacted now and then).
 */
export class HistoryLog {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  #items: ChatMessage[] = [];
  #head = 0;
  #bytes = 0;

  constructor(maxMessages: number, maxBytes: number) {
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  append(message: ChatMessage): void {
    this.#items.push(message);
    this.#bytes += sizeOf(message);
    while (this.size > this.#maxMessages || (this.#bytes > this.#maxBytes && this.size > 1)) {
      this.#bytes -= sizeOf(this.#items[this.#head]);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Newest first, for picking the tail that fits a budget. */
  *newestFirst(): IterableIterator<ChatMessage> {
    for (let i = this.#items.length - 1; i >= this.#head; i--) yield this.#items[i];
  }
}

/** Approximate bytes a message holds (UTF-16 string lengths; good enough for a bound). */
export function sizeOf([src, dest, , content]: ChatMessage): number {
  return 32 + 2 * (src.length + dest.length + content.length);
}
