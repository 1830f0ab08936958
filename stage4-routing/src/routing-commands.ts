import { sanitizeForTerminal, type ClientFrame } from '#shared';
import { BASE_COMMANDS, type CommandTable } from '#stage2/commands';

/** The extensions the stage 4 client asks for at login. */
export const CLIENT_FEATURES = ['CODE', 'WHO'];

/** Stage 2's commands plus /who and /raw. */
export const ROUTING_COMMANDS = {
  ...BASE_COMMANDS,
  who: {
    usage: '/who <name>',
    summary: 'is <name> online, or when were they last seen?',
    run(args, { client, print }) {
      const name = args.trim();
      if (!name) {
        print('! error: /who needs a name, e.g. /who bob');
        return;
      }
      // Answered by WHO (or, from a server without the extension, an INFO or ERROR).
      client.sendFrame({ WHO: name });
    },
  },
  raw: {
    usage: '/raw <json>',
    summary: 'send one raw protocol frame (to test a server)',
    run(args, { client, print }) {
      let frame: unknown;
      try {
        frame = JSON.parse(args);
      } catch {
        print('! error: /raw takes one JSON object, e.g. /raw {"WHO":"bob"}');
        return;
      }
      if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
        print('! error: /raw takes a JSON object');
        return;
      }
      print(`* sent raw frame ${sanitizeForTerminal(JSON.stringify(frame))}`);
      client.sendFrame(frame as ClientFrame);
    },
  },
} satisfies CommandTable;
