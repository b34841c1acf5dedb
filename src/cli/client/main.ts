import { describeFailure, exitCodeOf } from './output.js';

/**
 * The client commands of `tessera`: they talk to a server over HTTP through the SDK (src/client)
 * and load nothing of the server's own modules, so `tessera run` starts in the time Node.js takes.
 * Each command group is loaded only when it is the one asked for.
 */
export const CLIENT_COMMANDS = new Set(['login', 'logout', 'keys', 'secrets', 'run']);

export async function runClientCommand(command: string, args: string[]): Promise<number> {
  try {
    switch (command) {
      case 'login':
        return await (await import('./login.command.js')).runLogin(args);
      case 'logout':
        return await (await import('./login.command.js')).runLogout(args);
      case 'keys':
        return await (await import('./keys.command.js')).runKeys(args);
      case 'secrets':
        return await (await import('./secrets.command.js')).runSecrets(args);
      case 'run':
        return await (await import('./run.command.js')).runRun(args);
      default:
        throw new Error(`not a client command: ${command}`);
    }
  } catch (error) {
    process.stderr.write(`tessera: ${describeFailure(error)}\n`);
    return exitCodeOf(error);
  }
}
