export * from './error-codes.ts';
export * from './limits.ts';
export * from './frame-decoder.ts';
export * from './payload-codec.ts';
export * from './protocol.ts';
export * from './usernames.ts';
export * from './net-address.ts';
export * from './framed-socket.ts';
