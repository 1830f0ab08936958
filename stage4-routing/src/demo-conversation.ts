import type { DemoWindow } from '../../shared/tools/tmux-panes.ts';

export interface DemoWindows {
  server: DemoWindow;
  alice: DemoWindow;
  bob: DemoWindow;
  carol: DemoWindow;
}

export interface DemoStage {
  /** Announces the next step (a heading in line mode, the status bar in tmux). */
  narrate(text: string): Promise<void>;
  /** A pause so a person can follow. */
  pause(): Promise<void>;
}

/**
 * The graded stage 4 conversation, written once for both ways of showing it. Each step waits for
 * what the windows must show, so a run that finishes has demonstrated every behaviour.
 */
export async function playConversation(
  { server, alice, bob, carol }: DemoWindows,
  stage: DemoStage,
): Promise<void> {
  await server.waitFor(/listening on/);
  for (const [window, name] of [
    [alice, 'alice'],
    [bob, 'bob'],
    [carol, 'carol'],
  ] as const) {
    await window.waitFor(new RegExp(`logged in as ${name}`));
  }

  await stage.narrate('1. Broadcast: alice writes to everyone');
  await alice.type('hello everyone!');
  await bob.waitFor(/\[alice\] hello everyone!/);
  await carol.waitFor(/\[alice\] hello everyone!/);
  await stage.pause();

  await stage.narrate('2. Private: alice writes to bob only; carol sees nothing');
  await alice.type('@bob lunch at noon? carol cannot see this');
  await bob.waitFor(/\[alice → you\] lunch at noon\?/);
  await bob.type('@alice sure, see you there');
  await alice.waitFor(/\[bob → you\] sure, see you there/);
  await stage.pause();

  await stage.narrate('3. Absent user: alice writes to dave, who has never been here');
  await alice.type('@dave are you there?');
  await alice.waitFor(/nobody called dave has been here/);
  await server.waitFor(/logged in/);
  await stage.pause();

  await stage.narrate('4. A user leaves: carol quits, everyone is told');
  await carol.type('/quit');
  await alice.waitFor(/\* carol left/);
  await bob.waitFor(/\* carol left/);
  await stage.pause();

  await stage.narrate('5. Writing to someone who left: the sender is told when they were last seen');
  await alice.type('@carol are you still there?');
  await alice.waitFor(/carol is not online: last seen/);
  await alice.type('/who bob');
  await alice.waitFor(/bob is online/);
  await stage.pause();

  await stage.narrate('6. Spoofing: alice tries to send a message as bob, and is refused');
  await alice.type('/raw {"MESSAGES":[["bob","ALL",0,"this is bob, honest"]]}');
  await alice.waitFor(/SRC must be your own username/);
  await stage.pause();

  await stage.narrate('7. Goodbye: alice and bob leave');
  await alice.type('/quit');
  await bob.waitFor(/\* alice left/);
  await bob.type('/quit');
  await server.waitFor(/bob left \(0 online\)/);
}
