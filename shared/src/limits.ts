/** Default limits (../ARCHITECTURE "Limits"); every one is configurable and has a test that exceeds it. */
export const MAX_FRAME_BYTES = 1024 * 1024;
export const FRAME_TIMEOUT_MS = 30_000;
export const LOGIN_TIMEOUT_MS = 30_000;
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** How long a peer dropped as a slow consumer has to read what is on its way (then the ERROR) before a reset. */
export const SLOW_CONSUMER_GRACE_MS = 10_000;
export const RATE_BURST_FRAMES = 20;
export const RATE_FRAMES_PER_SECOND = 10;
export const MAX_USERNAME_CHARS = 32;
export const MAX_CONTENT_BYTES = 64 * 1024;
export const MAX_MESSAGES_PER_FRAME = 100;
export const MAX_HISTORY_MESSAGES = 10_000;
/** The base protocol's broadcast destination. */
export const DEST_ALL = 'ALL';
