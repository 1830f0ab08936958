import { encodedMessageBytes, type ChatMessage } from '#shared';

interface Entry {
  message: ChatMessage;
  /** Its size as sent, computed once when stored. */
  bytes: number;
}

/**
 * The message history, bounded by count and by bytes (10 000 messages of 64 KiB would be 640 MiB):
 * the oldest messages go first. Appends are O(1) amortized (a moving head, compacted now and then).
 */
export class HistoryLog {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  #entries: Entry[] = [];
  #head = 0;
  #bytes = 0;

  constructor(maxMessages: number, maxBytes: number) {
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  append(message: ChatMessage): void {
    const bytes = encodedMessageBytes(message);
    this.#entries.push({ message, bytes });
    this.#bytes += bytes;
    while (this.size > this.#maxMessages || (this.#bytes > this.#maxBytes && this.size > 1)) {
      this.#bytes -= this.#entries[this.#head].bytes;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Newest first, with each message's size as sent, for picking the tail that fits a budget. */
  *newestFirst(): IterableIterator<Entry> {
    for (let i = this.#entries.length - 1; i >= this.#head; i--) yield this.#entries[i];
  }
}
